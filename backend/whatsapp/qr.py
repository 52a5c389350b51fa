"""QR images for login codes: a PNG data URL (the seed's DataURL) and SVG, made once per code."""

from __future__ import annotations

import base64
import io
from functools import cached_property

import qrcode
import qrcode.image.svg


class QrImage:
    """One login code and its images; each image is rendered on first use and kept."""

    def __init__(self, code: str):
        self.code = code

    @cached_property
    def _matrix(self) -> qrcode.QRCode:
        """The QR symbol for the code; a low error-correction level keeps long WhatsApp codes scannable."""
        qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_L, box_size=6, border=4)
        qr.add_data(self.code)
        qr.make(fit=True)
        return qr

    @cached_property
    def data_url(self) -> str:
        """data:image/png;base64,... for an <img> tag."""
        return "data:image/png;base64," + base64.b64encode(self.png).decode("ascii")

    @cached_property
    def png(self) -> bytes:
        """PNG bytes."""
        buf = io.BytesIO()
        self._matrix.make_image(fill_color="black", back_color="white").save(buf, format="PNG")
        return buf.getvalue()

    @cached_property
    def svg(self) -> str:
        """SVG document text."""
        image = self._matrix.make_image(image_factory=qrcode.image.svg.SvgPathImage)
        return image.to_string(encoding="unicode")
