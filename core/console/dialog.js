/* dialog.js - a modal confirmation (<dialog>: focus is trapped and Escape cancels). */
import {h} from './dom.js';

/** Resolves true when @p confirmText is chosen, false on "Cancel" or Escape. */
export function confirmDialog({title, text, confirmText, danger = true}) {
  return new Promise((resolve) => {
    const dialog = h('dialog', {class: 'confirm', 'aria-labelledby': 'confirm-title'},
      h('h2', {id: 'confirm-title'}, title),
      h('p', {}, text),
      h('form', {method: 'dialog', class: 'actions'},
        h('button', {value: 'cancel', class: 'secondary'}, 'Cancel'),
        h('button', {value: 'confirm', class: danger ? 'danger' : ''}, confirmText)));
    const opener = document.activeElement;
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
      if (opener && opener.isConnected) opener.focus();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
