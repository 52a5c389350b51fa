// A <select> of the languages, showing the one in use; `onPick(lang)` runs when the person picks another.

import { LANGUAGES, language } from './i18n.js';
import { el } from './dom.js';

export function fillLanguagePicker(select, onPick) {
  select.replaceChildren(...LANGUAGES.map(([code, label]) =>
    el('option', { value: code, lang: code, selected: code === language() }, label)));
  select.addEventListener('change', () => onPick(select.value));
  window.addEventListener('zapool:language', () => { select.value = language(); });
}
