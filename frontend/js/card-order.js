// The pool manager's card order (split from pool.js): the order the person sets by dragging a card, or with the
// arrow keys on its handle, saved as the cardOrder preference; numbers not in it follow in the pool's order.

import { api } from './api.js';
import { t } from './i18n.js';
import { $, showError } from './dom.js';

export class CardOrder {
  /** `cards()`: every card (card.js); `cardOf(id)`, `nameOf(id)`; `place()` puts the cards in `ids`' order. */
  constructor({ cards, cardOf, nameOf, place }) {
    this.ids = []; // clientIds in the order the cards show
    this.saved = []; // the cardOrder preference as last read or written
    this.dragging = null;
    Object.assign(this, { cards, cardOf, nameOf, place });
  }

  /** The preference as the page read it at start. */
  remember(saved) {
    this.saved = saved || [];
  }

  /** Saved order first (for the ids that still exist), then newcomers in the pool's own order. */
  arrange(ids) {
    const known = this.saved.filter((id) => ids.includes(id));
    this.ids = [...known, ...ids.filter((id) => !known.includes(id))];
  }

  add(id) {
    this.arrange([...this.ids, id]);
  }

  remove(id) {
    this.ids = this.ids.filter((x) => x !== id);
  }

  async save() {
    this.saved = [...this.ids];
    try {
      await api.setPreferences({ cardOrder: this.saved });
    } catch (error) {
      showError(error);
    }
  }

  move(id, to) {
    const from = this.ids.indexOf(id);
    if (from < 0 || to < 0 || to >= this.ids.length || to === from) return;
    this.ids.splice(from, 1);
    this.ids.splice(to, 0, id);
    this.place();
    this.save();
  }

  /** Arrow keys on a card's handle move the card; the handle keeps the focus. */
  moveByKey(id, event) {
    const from = this.ids.indexOf(id);
    const last = this.ids.length - 1;
    const to = { ArrowUp: from - 1, ArrowLeft: from - 1, ArrowDown: from + 1, ArrowRight: from + 1,
                 Home: 0, End: last }[event.key];
    if (to === undefined) return;
    event.preventDefault();
    this.move(id, Math.max(0, Math.min(last, to)));
    this.cardOf(id).handle.focus();
    $('#moved').textContent = t('pool.moved', { name: this.nameOf(id), position: this.ids.indexOf(id) + 1,
                                                count: this.ids.length });
  }

  draggable(card, id) {
    const { root } = card;
    root.addEventListener('dragstart', (event) => {
      this.dragging = id;
      event.dataTransfer.effectAllowed = 'move';
      event.dataTransfer.setData('text/plain', id);
      root.classList.add('dragging');
    });
    root.addEventListener('dragend', () => {
      this.dragging = null;
      for (const c of this.cards()) c.root.classList.remove('dragging', 'drop-target');
    });
    root.addEventListener('dragover', (event) => {
      if (!this.dragging || this.dragging === id) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = 'move';
      root.classList.add('drop-target');
    });
    root.addEventListener('dragleave', () => root.classList.remove('drop-target'));
    root.addEventListener('drop', (event) => {
      event.preventDefault();
      root.classList.remove('drop-target');
      // takes the place of the card under it
      if (this.dragging && this.dragging !== id) this.move(this.dragging, this.ids.indexOf(id));
    });
  }
}
