// Staff forms that are quicker with a script and work without one: the office's weekly hours
// grid (add or remove a range, copy a day to other days) and a service's intake questions
// (add a question, move one up or down). Without this file the same buttons post the form and
// the server shows the edited form again, unsaved.
(function () {
  'use strict';

  // ---- the weekly hours grid ----

  function rowsOf(day) { return day.querySelector('ol.ranges'); }

  // The next free range index of a day: names are d{day}_from{k}; the server reads them in order.
  function nextIndex(day) {
    var max = 0;
    day.querySelectorAll('input[type=time]').forEach(function (input) {
      var m = /_(?:from|to)(\d+)$/.exec(input.name);
      if (m) { max = Math.max(max, Number(m[1])); }
    });
    return max + 1;
  }

  // Rewrites what screen readers hear for each row ("Lunedì, fascia 2") after rows moved.
  function renumber(form, day) {
    var word = form.dataset.rangeWord, remove = form.dataset.removeWord, name = day.dataset.name;
    Array.prototype.forEach.call(rowsOf(day).children, function (li, i) {
      li.querySelectorAll('[data-range-label]').forEach(function (s) { s.textContent = ' ' + name + ', ' + word + ' ' + (i + 1); });
      var b = li.querySelector('button[name=remove_range]');
      if (b) { b.setAttribute('aria-label', remove + ': ' + name + ', ' + word + ' ' + (i + 1)); }
    });
    var add = day.querySelector('button[name=add_range]');
    if (add) { add.hidden = rowsOf(day).children.length >= Number(form.dataset.maxRanges || 6); }
  }

  function clearRow(li) {
    li.querySelectorAll('.error').forEach(function (e) { e.remove(); });
    li.querySelectorAll('.has-error').forEach(function (e) { e.classList.remove('has-error'); });
    li.querySelectorAll('input').forEach(function (input) {
      input.value = '';
      input.removeAttribute('aria-invalid');
      input.removeAttribute('aria-describedby');
    });
  }

  function addRange(form, day) {
    var list = rowsOf(day);
    if (list.children.length >= Number(form.dataset.maxRanges || 6)) { return null; }
    var k = nextIndex(day), d = day.dataset.day;
    var li = list.lastElementChild.cloneNode(true);
    clearRow(li);
    li.querySelectorAll('input[type=time]').forEach(function (input) {
      var which = /_from\d+$/.test(input.name) ? 'from' : 'to';
      var label = li.querySelector('label[for="' + input.id + '"]');
      input.name = 'd' + d + '_' + which + k;
      input.id = 'f-' + input.name;
      if (label) { label.htmlFor = input.id; }
    });
    var b = li.querySelector('button[name=remove_range]');
    if (b) { b.value = d + '-' + k; }
    list.appendChild(li);
    renumber(form, day);
    return li;
  }

  function removeRange(form, button) {
    var li = button.closest('li'), day = button.closest('fieldset.weekday'), list = rowsOf(day);
    if (list.children.length === 1) {
      clearRow(li);
      li.querySelector('input').focus();
    } else {
      var next = li.nextElementSibling || li.previousElementSibling;
      li.remove();
      next.querySelector('input').focus();
    }
    renumber(form, day);
  }

  function copyDay(form, source) {
    var values = Array.prototype.map.call(rowsOf(source).children, function (li) {
      var inputs = li.querySelectorAll('input[type=time]');
      return [inputs[0].value, inputs[1].value];
    });
    var names = [];
    source.querySelectorAll('input[type=checkbox][name^=copy]:checked').forEach(function (box) {
      var target = form.querySelector('fieldset.weekday[data-day="' + box.value + '"]');
      if (!target) { return; }
      var list = rowsOf(target);
      while (list.children.length > 1) { list.lastElementChild.remove(); }
      clearRow(list.firstElementChild);
      values.forEach(function (pair, i) {
        var li = i === 0 ? list.firstElementChild : addRange(form, target);
        if (!li) { return; }
        var inputs = li.querySelectorAll('input[type=time]');
        inputs[0].value = pair[0];
        inputs[1].value = pair[1];
      });
      renumber(form, target);
      box.checked = false;
      names.push(target.dataset.name);
    });
    var status = source.querySelector('.copy-status');
    if (status && names.length) {
      status.textContent = form.dataset.copied + ' ' + names.join(', ') + '. ' + form.dataset.saveNote;
    }
  }

  document.querySelectorAll('form[data-hours-grid]').forEach(function (form) {
    form.querySelectorAll('[data-copy]').forEach(function (b) { b.hidden = false; });
    form.querySelectorAll('[data-copy-hint]').forEach(function (p) { p.hidden = true; });
    form.addEventListener('click', function (event) {
      var b = event.target.closest('button');
      if (!b || !form.contains(b)) { return; }
      if (b.name === 'add_range') {
        event.preventDefault();
        var li = addRange(form, b.closest('fieldset.weekday'));
        if (li) { li.querySelector('input').focus(); }
      } else if (b.name === 'remove_range') {
        event.preventDefault();
        removeRange(form, b);
      } else if (b.dataset.copy) {
        event.preventDefault();
        copyDay(form, b.closest('fieldset.weekday'));
      }
    });
  });

  // ---- intake questions ----

  // Rows are posted in page order, which is the questions' order: moving a row moves its question.
  function showOptions(row) {
    var type = row.querySelector('select[name$=_type]');
    var options = row.querySelector('[data-options]');
    if (type && options) { options.hidden = type.value !== 'choice'; }
  }

  document.querySelectorAll('[data-questions]').forEach(function (box) {
    var list = box.querySelector('ol.questions');
    function renumberQuestions() {
      Array.prototype.forEach.call(list.children, function (li, i) {
        li.querySelectorAll('[data-question-number]').forEach(function (n) { n.textContent = String(i + 1); });
      });
    }
    box.querySelectorAll('li.question').forEach(showOptions);
    box.addEventListener('change', function (event) {
      if (event.target.matches('select[name$=_type]')) { showOptions(event.target.closest('li.question')); }
    });
    box.addEventListener('click', function (event) {
      var b = event.target.closest('button');
      if (!b || !box.contains(b)) { return; }
      var li = b.closest('li.question');
      if (b.name === 'q_up' && li) {
        event.preventDefault();
        if (li.previousElementSibling) { list.insertBefore(li, li.previousElementSibling); }
        renumberQuestions();
        b.focus();
      } else if (b.name === 'q_down' && li) {
        event.preventDefault();
        if (li.nextElementSibling) { list.insertBefore(li.nextElementSibling, li); }
        renumberQuestions();
        b.focus();
      } else if (b.name === 'q_add') {
        event.preventDefault();
        var template = box.querySelector('template[data-question-template]');
        if (!template) { return; }
        var max = 0;
        box.querySelectorAll('[name$=_label]').forEach(function (input) {
          var m = /^q(\d+)_label$/.exec(input.name);
          if (m) { max = Math.max(max, Number(m[1])); }
        });
        var html = template.innerHTML.replace(/__N__/g, String(max + 1));
        list.insertAdjacentHTML('beforeend', html);
        var added = list.lastElementChild;
        showOptions(added);
        renumberQuestions();
        added.querySelector('input[type=text]').focus();
      }
    });
  });
}());
