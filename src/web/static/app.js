// The only script: the copy button of the summary statement. Everything else works without it.
document.addEventListener("click", function (e) {
  var b = e.target.closest("button[data-copy]");
  if (!b) return;
  var text = document.getElementById(b.dataset.copy).innerText;
  var done = function () { var old = b.innerText; b.innerText = "✓"; setTimeout(function () { b.innerText = old; }, 1500); };
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done);
  } else {
    var r = document.createRange(); r.selectNodeContents(document.getElementById(b.dataset.copy));
    var s = window.getSelection(); s.removeAllRanges(); s.addRange(r);
    try { document.execCommand("copy"); done(); } catch (_) {}
  }
});
