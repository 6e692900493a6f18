// The sign-in page posts its form at once, so opening a link signs in without a click; without
// script, the page's Continue button does the same. Loaded from Allot (the CSP allows no inline script).
const form = document.querySelector('form[data-autosubmit]');
if (form) form.requestSubmit();
