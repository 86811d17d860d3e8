// Citation links: a click on [n] in an answer opens and highlights its passage in the sources panel.
(function () {
  if (window.__ragCiteHandler) return;
  window.__ragCiteHandler = true;
  function reveal(el) {
    for (var p = el.parentElement; p; p = p.parentElement) {
      if (p.tagName === 'DETAILS') p.open = true;
    }
    document.querySelectorAll('.src.src-active').forEach(function (x) { x.classList.remove('src-active'); });
    el.classList.add('src-active');
    // scroll the sources panel (its nearest scrolling box) so the card is at its top
    var box = el.parentElement;
    while (box && box !== document.body) {
      var style = getComputedStyle(box);
      if (/(auto|scroll)/.test(style.overflowY) && box.scrollHeight > box.clientHeight + 4) break;
      box = box.parentElement;
    }
    if (box && box !== document.body) {
      var top = el.getBoundingClientRect().top - box.getBoundingClientRect().top + box.scrollTop - 8;
      box.scrollTo({top: top, behavior: 'instant'});
    }
    el.scrollIntoView({behavior: 'instant', block: 'nearest'});
  }
  document.addEventListener('click', function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest('a.cite') : null;
    if (!a) return;
    ev.preventDefault();
    ev.stopPropagation();
    var id = (a.getAttribute('href') || '').replace(/^#/, '');
    var el = id ? document.getElementById(id) : null;
    if (el) reveal(el);
  }, true);
})();
