// Vant's radios, switches, clickable cells, grid items and tab bar items take the focus
// (tabindex 0, an ARIA role) but answer only clicks. Enter and Space on one of them click
// it here, as they would a native control, so every page works from the keyboard.
const ACTIVATED_BY_KEYBOARD = '[role="radio"], [role="switch"], [role="checkbox"], [role="tab"], [role="button"]';
const NATIVE = "a, button, input, select, textarea, summary";

export function clickOnEnterAndSpace(root = document) {
  root.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" && event.key !== " ") return;
    const target = event.target;
    if (!(target instanceof HTMLElement) || target.matches(NATIVE)) return;
    if (!target.matches(ACTIVATED_BY_KEYBOARD) || target.tabIndex < 0) return;
    event.preventDefault();
    target.click();
  });
}
