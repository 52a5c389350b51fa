"""Draw ZapPool's icon (build/icon.png, build/icon.ico) with Pillow: run once, commit the results.

A purple rounded square (the seed's "Gerenciar Conexões" colour) with three chat bubbles, one per number of a
pool. Drawn at 1024 px and scaled down, so the small sizes stay smooth.

    .venv/bin/python build/make_icon.py
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
SIZE = 1024
PURPLE, WHITE, GREEN = (102, 51, 204, 255), (255, 255, 255, 255), (37, 190, 100, 255)


def bubble(draw: ImageDraw.ImageDraw, x: int, y: int, r: int, fill: tuple[int, ...], ring: int = 36) -> None:
    """A round chat bubble centred at (x, y), tail at the bottom left, over a purple ring that keeps it apart
    from the bubble behind it."""
    for radius, colour in ((r + ring, PURPLE), (r, fill)):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=colour)
        draw.polygon([(x - radius * 0.75, y + radius * 0.35), (x - radius * 1.05, y + radius * 1.05),
                      (x - radius * 0.15, y + radius * 0.85)], fill=colour)


def draw() -> Image.Image:
    """The icon at full size."""
    image = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    d = ImageDraw.Draw(image)
    d.rounded_rectangle((32, 32, SIZE - 32, SIZE - 32), radius=200, fill=PURPLE)
    bubble(d, 660, 330, 150, WHITE)
    bubble(d, 370, 420, 180, WHITE)
    bubble(d, 610, 650, 170, GREEN)
    return image


def main() -> None:
    """Write the PNG (Linux, docs) and the ICO (Windows) beside this script."""
    image = draw()
    image.resize((512, 512), Image.LANCZOS).save(HERE / "icon.png")
    image.save(HERE / "icon.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])


if __name__ == "__main__":
    main()
