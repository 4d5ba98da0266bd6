/* gom dashboard: the provincial operator's page (docs/dashboard.md).
   Vanilla JavaScript, no build step, nothing fetched but the hub's own API.
   Every string from the API goes through esc() before it reaches HTML. */
(function () {
  'use strict';

  // ------------------------------------------------------------ strings

  var I18N = {
    vi: {
      appTitle: 'Báo cáo bình đẳng giới — Bảng điều khiển của tỉnh',
      user: 'Tên đăng nhập', password: 'Mật khẩu', login: 'Đăng nhập',
      logout: 'Đăng xuất', langOther: 'English',
      loginFailed: 'Sai tên đăng nhập hoặc mật khẩu.',
      loginMissing: 'Hãy nhập tên đăng nhập và mật khẩu.',
      sessionEnded: 'Phiên làm việc đã hết, vui lòng đăng nhập lại.',
      form: 'Biểu mẫu', period: 'Kỳ báo cáo', root: 'Phạm vi',
      wholeProvince: 'Toàn tỉnh', inactive: 'ngừng hoạt động',
      roleAdmin: 'quản trị', roleRead: 'chỉ xem',
      connected: 'Trực tuyến', disconnected: 'Mất kết nối',
      liveTitle: 'Cập nhật trực tiếp từ hub',
      tabArrivals: 'Tiến độ nộp báo cáo', tabTotals: 'Bảng tổng hợp',
      tabTexts: 'Nội dung thuyết minh', tabAgents: 'Máy trạm',
      on_time: 'Đúng hạn', late: 'Muộn', missing: 'Chưa nộp', rejected: 'Bị từ chối',
      all: 'Tất cả', expected: 'Phải nộp', submitted: 'Đã nộp',
      completeness: 'Hoàn thành', deadline: 'Hạn nộp',
      deadlineLeft: 'còn {0}', deadlinePassed: 'đã quá hạn {0}',
      vnTime: 'giờ Việt Nam',
      chartArrivals: 'Tỉ lệ đơn vị đã nộp theo thời gian',
      chartGroups: 'Mức độ hoàn thành theo đơn vị cấp trên',
      chartNoData: 'Chưa có báo cáo nào.',
      filterPlaceholder: 'Tìm theo tên hoặc mã đơn vị',
      expandAll: 'Mở tất cả', collapseAll: 'Thu gọn tất cả',
      colCode: 'Mã', colUnit: 'Đơn vị', colState: 'Trạng thái', colRevision: 'Lần',
      colSealed: 'Lập lúc', colReceived: 'Hub nhận lúc', colNote: 'Ghi chú',
      noUnits: 'Không có đơn vị nào.', noMatch: 'Không có đơn vị nào khớp với bộ lọc.',
      noParent: '(không có cấp trên)',
      groupCount: '{0}/{1} đơn vị · {2}', shownOf: 'hiện {0}/{1}',
      unitsHidden: '{0} đơn vị — bấm để mở',
      loading: 'Đang tải…',
      reportsOf: 'Báo cáo của {0}', noReports: 'Đơn vị chưa có báo cáo nào cho kỳ này.',
      revision: 'Lần nộp {0}', receipt: 'Biên nhận', sender: 'Máy gửi (dấu vân tay)',
      sealedAt: 'Lập lúc', receivedAt: 'Hub nhận lúc', version: 'Phiên bản biểu',
      cells: 'Số liệu', texts: 'Thuyết minh', cell: 'Ô', value: 'Giá trị',
      notReported: 'không báo cáo', rejectedReason: 'Lý do từ chối',
      totalsMeta: '{0} báo cáo · {1}/{2} đơn vị đã nộp ({3}) · hạn nộp {4}',
      colNo: 'STT', colIndicator: 'Chỉ tiêu', reportedBy: '{0} đơn vị báo cáo',
      indicators: 'Chỉ tiêu (tỉ lệ)', numDen: 'Tử số / mẫu số', valueCol: 'Giá trị',
      target: 'Mục tiêu', result: 'Kết quả', met: 'Đạt', notMet: 'Chưa đạt',
      noData: 'Chưa có số liệu', noTarget: 'Không đặt mục tiêu', noIndicators: 'Biểu mẫu không có chỉ tiêu.',
      downloadCsv: 'Tải về CSV', downloadXlsx: 'Tải về Excel (XLSX)', print: 'In',
      textSection: 'Mục', copyAll: 'Sao chép tất cả', copied: 'Đã sao chép.',
      textsMeta: '{0} đơn vị có nội dung', noTexts: 'Chưa có đơn vị nào viết mục này.', noTextSections: 'Biểu mẫu không có phần thuyết minh.',
      enrollTitle: 'Ghi danh máy trạm', agentKey: 'Khóa máy trạm (40 ký tự)',
      enrollUnits: 'Mã đơn vị (cách nhau bằng dấu phẩy)', enroll: 'Ghi danh',
      enrolled: 'Đã ghi danh máy {0} cho đơn vị {1}.',
      enrollMissing: 'Hãy nhập khóa máy trạm và ít nhất một mã đơn vị.',
      revoke: 'Thu hồi', revokeConfirm: 'Thu hồi khóa của máy {0} (đơn vị {1})? Máy này sẽ không gửi được báo cáo nữa.',
      revoked: 'Đã thu hồi máy {0}.',
      fingerprint: 'Dấu vân tay', units: 'Đơn vị', enrolledAt: 'Ghi danh lúc',
      lastSeen: 'Liên lạc gần nhất', queue: 'Hàng đợi', oldest: 'Chờ lâu nhất',
      agentVersion: 'Phiên bản', skew: 'Lệch đồng hồ', lastError: 'Lỗi gần nhất',
      rejectedCount: 'Bị từ chối', never: 'chưa bao giờ', revokedAt: 'đã thu hồi {0}',
      agentsMeta: '{0} máy trạm · {1} không liên lạc quá 24 giờ · {2} đã thu hồi',
      noAgents: 'Chưa có máy trạm nào được ghi danh.',
      forbidden: 'Tài khoản chỉ xem không được phép làm việc này.',
      errorPrefix: 'Lỗi: ', networkError: 'Không kết nối được với hub.',
      close: 'Đóng', noForms: 'Hub chưa có biểu mẫu nào.', noPeriods: 'Biểu mẫu này chưa có kỳ báo cáo nào.',
      ago: '{0} trước', secondsShort: '{0} giây', minutesShort: '{0} phút', hoursShort: '{0} giờ', daysShort: '{0} ngày'
    },
    en: {
      appTitle: 'Gender-equality reports — provincial dashboard',
      user: 'User name', password: 'Password', login: 'Log in',
      logout: 'Log out', langOther: 'Tiếng Việt',
      loginFailed: 'Wrong user name or password.',
      loginMissing: 'Enter a user name and a password.',
      sessionEnded: 'Your session has ended; please log in again.',
      form: 'Form', period: 'Period', root: 'Scope',
      wholeProvince: 'Whole province', inactive: 'inactive',
      roleAdmin: 'admin', roleRead: 'read-only',
      connected: 'Live', disconnected: 'Disconnected',
      liveTitle: 'Live updates from the hub',
      tabArrivals: 'Arrivals', tabTotals: 'Consolidated table',
      tabTexts: 'Narrative texts', tabAgents: 'Agents',
      on_time: 'On time', late: 'Late', missing: 'Missing', rejected: 'Rejected',
      all: 'All', expected: 'Expected', submitted: 'Submitted',
      completeness: 'Complete', deadline: 'Deadline',
      deadlineLeft: '{0} left', deadlinePassed: 'passed {0} ago',
      vnTime: 'Vietnam time',
      chartArrivals: 'Share of units reported over time',
      chartGroups: 'Completeness by parent unit',
      chartNoData: 'No reports yet.',
      filterPlaceholder: 'Search by unit name or code',
      expandAll: 'Expand all', collapseAll: 'Collapse all',
      colCode: 'Code', colUnit: 'Unit', colState: 'State', colRevision: 'Rev.',
      colSealed: 'Sealed at', colReceived: 'Received at', colNote: 'Note',
      noUnits: 'No units.', noMatch: 'No unit matches the filter.',
      noParent: '(no parent)',
      groupCount: '{0}/{1} units · {2}', shownOf: 'showing {0}/{1}',
      unitsHidden: '{0} units — click to expand',
      loading: 'Loading…',
      reportsOf: 'Reports of {0}', noReports: 'This unit has no report for this period.',
      revision: 'Revision {0}', receipt: 'Receipt', sender: 'Sender (fingerprint)',
      sealedAt: 'Sealed at', receivedAt: 'Received at', version: 'Form version',
      cells: 'Figures', texts: 'Texts', cell: 'Cell', value: 'Value',
      notReported: 'not reported', rejectedReason: 'Reason for rejection',
      totalsMeta: '{0} reports · {1}/{2} units reported ({3}) · deadline {4}',
      colNo: 'No.', colIndicator: 'Item', reportedBy: 'reported by {0} units',
      indicators: 'Indicators (ratios)', numDen: 'Numerator / denominator', valueCol: 'Value',
      target: 'Target', result: 'Result', met: 'Met', notMet: 'Not met',
      noData: 'No data', noTarget: 'No target', noIndicators: 'This form has no indicators.',
      downloadCsv: 'Download CSV', downloadXlsx: 'Download Excel (XLSX)', print: 'Print',
      textSection: 'Section', copyAll: 'Copy all', copied: 'Copied.',
      textsMeta: '{0} units wrote this section', noTexts: 'No unit has written this section.', noTextSections: 'This form has no narrative sections.',
      enrollTitle: 'Enroll an agent', agentKey: 'Agent key (40 characters)',
      enrollUnits: 'Unit codes (comma-separated)', enroll: 'Enroll',
      enrolled: 'Enrolled agent {0} for unit(s) {1}.',
      enrollMissing: 'Enter the agent key and at least one unit code.',
      revoke: 'Revoke', revokeConfirm: 'Revoke the key of agent {0} (units {1})? It will no longer be able to send reports.',
      revoked: 'Revoked agent {0}.',
      fingerprint: 'Fingerprint', units: 'Units', enrolledAt: 'Enrolled',
      lastSeen: 'Last seen', queue: 'Queue', oldest: 'Oldest queued',
      agentVersion: 'Version', skew: 'Clock skew', lastError: 'Last error',
      rejectedCount: 'Rejected', never: 'never', revokedAt: 'revoked {0}',
      agentsMeta: '{0} agents · {1} not seen for over 24 h · {2} revoked',
      noAgents: 'No agent is enrolled yet.',
      forbidden: 'A read-only account may not do this.',
      errorPrefix: 'Error: ', networkError: 'Cannot reach the hub.',
      close: 'Close', noForms: 'The hub has no forms.', noPeriods: 'This form has no reporting period yet.',
      ago: '{0} ago', secondsShort: '{0} s', minutesShort: '{0} min', hoursShort: '{0} h', daysShort: '{0} d'
    }
  };

  var STATES = ['on_time', 'late', 'missing', 'rejected'];
  var RANK = { missing: 0, rejected: 1, late: 2, on_time: 2 };
  var COLLAPSE_LIMIT = 2000;      // more units than this: groups start collapsed
  var FLUSH_MS = 400;             // live events are applied at most this often
  var STALE_MS = 24 * 3600 * 1000;

  var lang = (function () {
    try { return localStorage.getItem('gom.lang') === 'en' ? 'en' : 'vi'; } catch (e) { return 'vi'; }
  })();

  function t(key) {
    var s = (I18N[lang] && I18N[lang][key]);
    if (s === undefined) s = I18N.vi[key];
    if (s === undefined) s = key;
    for (var i = 1; i < arguments.length; i++) s = s.split('{' + (i - 1) + '}').join(String(arguments[i]));
    return s;
  }

  // ------------------------------------------------------------ helpers

  var ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
  function esc(v) {
    if (v === null || v === undefined) return '';
    return String(v).replace(/[&<>"']/g, function (c) { return ESC[c]; });
  }
  function $(id) { return document.getElementById(id); }
  function fold(s) {    // diacritics-insensitive search key
    return String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '')
      .replace(/[đĐ]/g, 'd').toLowerCase();
  }

  var nfCache = {};
  function nf(decimals) {
    var k = lang + decimals;
    if (!nfCache[k]) {
      nfCache[k] = new Intl.NumberFormat(lang === 'vi' ? 'vi-VN' : 'en-US',
        { minimumFractionDigits: decimals, maximumFractionDigits: decimals });
    }
    return nfCache[k];
  }
  function fmtNum(v, decimals) {
    if (v === null || v === undefined || v === '') return '';
    return nf(decimals || 0).format(v);
  }
  function fmtPct(v) { return (v === null || v === undefined) ? '—' : fmtNum(v, 1) + '%'; }

  // dd/mm/yyyy HH:MM:SS (short: dd/mm HH:MM) in Vietnam time, which is
  // UTC+7 all year (no daylight saving): plain arithmetic, fast for 10,000 rows.
  var VN_OFFSET_MS = 7 * 3600 * 1000;
  function p2(n) { return n < 10 ? '0' + n : '' + n; }
  function fmtTime(iso, short) {
    if (!iso) return '';
    var ms = Date.parse(iso);
    if (isNaN(ms)) return esc(iso);
    var d = new Date(ms + VN_OFFSET_MS);
    var day = p2(d.getUTCDate()) + '/' + p2(d.getUTCMonth() + 1);
    var hm = p2(d.getUTCHours()) + ':' + p2(d.getUTCMinutes());
    return short ? day + ' ' + hm : day + '/' + d.getUTCFullYear() + ' ' + hm + ':' + p2(d.getUTCSeconds());
  }
  function fmtDuration(ms) {
    var s = Math.abs(ms) / 1000;
    if (s < 90) return t('secondsShort', Math.round(s));
    if (s < 90 * 60) return t('minutesShort', Math.round(s / 60));
    if (s < 48 * 3600) return t('hoursShort', Math.round(s / 3600));
    return t('daysShort', Math.round(s / 86400));
  }
  function qs(params) {
    var out = [];
    Object.keys(params).forEach(function (k) {
      var v = params[k];
      if (v !== null && v !== undefined && v !== '') out.push(encodeURIComponent(k) + '=' + encodeURIComponent(v));
    });
    return out.join('&');
  }
  function stateLabel(s) { return STATES.indexOf(s) >= 0 ? t(s) : esc(s); }
  function badge(s) { return '<span class="badge s-' + esc(s) + '">' + stateLabel(s) + '</span>'; }
  function show(el, on) { if (el) el.hidden = !on; }
  function debounce(fn, ms) {
    var h = null;
    return function () { clearTimeout(h); h = setTimeout(fn, ms); };
  }

  // ------------------------------------------------------------ API

  function HttpError(status, message) { this.status = status; this.message = message; }
  HttpError.prototype = Object.create(Error.prototype);

  function api(path, opts) {
    opts = opts || {};
    var init = { credentials: 'same-origin', headers: { 'Accept': 'application/json' } };
    if (opts.body !== undefined) {
      init.method = 'POST';
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(opts.body);
    }
    return fetch(path, init).then(function (r) {
      var ct = r.headers.get('Content-Type') || '';
      var p = ct.indexOf('json') >= 0 ? r.json().catch(function () { return null; }) : r.text().then(function () { return null; });
      return p.then(function (body) {
        if (r.ok) return body || {};
        var msg = (body && body.error) || ('HTTP ' + r.status);
        if (r.status === 401 && !opts.noRedirect) toLogin(t('sessionEnded'));
        throw new HttpError(r.status, msg);
      });
    }, function () { throw new HttpError(0, t('networkError')); });
  }

  // ------------------------------------------------------------ state

  var S = {
    me: null, forms: [], units: [], unitByCode: {}, form: null, period: null, root: '',
    tab: 'arrivals', layouts: {},
    arr: null,            // last /api/arrivals answer, with derived fields
    arrKey: '',           // form|period|root it was fetched for
    rowState: {},         // code -> signature of the rendered row
    groupOpen: {},        // group -> true/false set by the user
    stateFilter: 'all', filterText: '',
    totals: null, texts: null, agents: null,
    detailUnit: null
  };

  function viewKey() { return [S.form && S.form.code, S.period, S.root].join('|'); }

  // ------------------------------------------------------------ i18n of static HTML

  function applyStatic() {
    document.documentElement.lang = lang;
    document.title = 'gom — ' + t('appTitle');
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n]'), function (el) {
      el.textContent = t(el.getAttribute('data-i18n'));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n-placeholder]'), function (el) {
      el.placeholder = t(el.getAttribute('data-i18n-placeholder'));
    });
    Array.prototype.forEach.call(document.querySelectorAll('[data-i18n-title]'), function (el) {
      el.title = t(el.getAttribute('data-i18n-title'));
    });
  }

  function setLang(l) {
    lang = l;
    try { localStorage.setItem('gom.lang', l); } catch (e) { /* private mode */ }
    applyStatic();
    setLive(live.connected);
    if (S.me) {
      renderWho();
      fillRootSelect();
      renderArrivals(true);
      renderTotals();
      renderTexts();
      renderAgents();
      if (S.detailUnit) openDetail(S.detailUnit);
    }
  }

  // ------------------------------------------------------------ login

  function toLogin(message) {
    S.me = null;
    stopEvents();
    show($('app'), false);
    show($('login'), true);
    var e = $('login-error');
    e.textContent = message || '';
    show(e, !!message);
    $('login-password').value = '';
    setTimeout(function () { ($('login-user').value ? $('login-password') : $('login-user')).focus(); }, 0);
  }

  function onLogin(ev) {
    ev.preventDefault();
    var user = $('login-user').value.trim(), pw = $('login-password').value;
    var err = $('login-error');
    if (!user || !pw) { err.textContent = t('loginMissing'); show(err, true); return; }
    $('login-submit').disabled = true;
    api('/api/login', { body: { user: user, password: pw }, noRedirect: true }).then(function (me) {
      show(err, false);
      $('login-password').value = '';
      start(me);
    }, function (e) {
      err.textContent = e.status === 401 ? t('loginFailed') : t('errorPrefix') + e.message;
      show(err, true);
      $('login-password').value = '';
      $('login-password').focus();
    }).then(function () { $('login-submit').disabled = false; });
  }

  function onLogout() {
    api('/api/logout', { body: {}, noRedirect: true }).catch(function () {}).then(function () { toLogin(''); });
  }

  function renderWho() {
    $('user-name').textContent = S.me ? S.me.user : '';
    $('user-role').textContent = S.me ? t(S.me.role === 'admin' ? 'roleAdmin' : 'roleRead') : '';
    show($('enroll-form'), !!(S.me && S.me.role === 'admin'));
  }

  // ------------------------------------------------------------ start

  function start(me) {
    S.me = me;
    show($('login'), false);
    show($('app'), true);
    renderWho();
    if (S.topbarHeight) setTimeout(S.topbarHeight, 0);
    Promise.all([api('/api/forms'), api('/api/units')]).then(function (res) {
      S.forms = res[0].forms || [];
      S.units = res[1].units || [];
      S.unitByCode = {};
      S.units.forEach(function (u) { S.unitByCode[u.code] = u; });
      fillFormSelect();
      fillRootSelect();
      startEvents();
      selectTab(S.tab, true);
    }).catch(globalError);
  }

  function globalError(e) {
    if (e && e.status === 401) return;
    var el = $('global-error');
    el.textContent = t('errorPrefix') + (e && e.message ? e.message : String(e));
    show(el, true);
  }
  function clearGlobalError() { show($('global-error'), false); }

  function saved(k) { try { return localStorage.getItem('gom.' + k); } catch (e) { return null; } }
  function save(k, v) { try { localStorage.setItem('gom.' + k, v); } catch (e) { /* ignore */ } }

  function fillFormSelect() {
    var sel = $('form-select');
    if (!S.forms.length) { sel.innerHTML = ''; globalError(new Error(t('noForms'))); return; }
    var want = saved('form');
    sel.innerHTML = S.forms.map(function (f) {
      return '<option value="' + esc(f.code) + '">' + esc(f.code) + ' — ' + esc(f.title) + '</option>';
    }).join('');
    var f = S.forms.filter(function (x) { return x.code === want; })[0] || S.forms[0];
    sel.value = f.code;
    setForm(f, true);
  }

  function setForm(f, keepPeriod) {
    S.form = f;
    save('form', f.code);
    var sel = $('period-select');
    var periods = f.periods || [];
    sel.innerHTML = periods.map(function (p) { return '<option value="' + esc(p) + '">' + esc(p) + '</option>'; }).join('');
    var want = keepPeriod ? saved('period') : null;
    S.period = periods.indexOf(want) >= 0 ? want : (periods[0] || '');
    sel.value = S.period;
  }

  function depthOf(u) {
    var d = 0, seen = {};
    while (u && u.parent && !seen[u.code] && d < 50) { seen[u.code] = 1; u = S.unitByCode[u.parent]; d++; }
    return d;
  }

  function fillRootSelect() {
    var sel = $('root-select');
    var html = ['<option value="">' + esc(t('wholeProvince')) + '</option>'];
    S.units.forEach(function (u) {
      if (u.leaf) return;
      var pad = new Array(depthOf(u) + 1).join('\u00a0\u00a0\u00a0');
      html.push('<option value="' + esc(u.code) + '">' + pad + esc(u.name) + ' (' + esc(u.code) + ')' +
        (u.active === false ? ' — ' + esc(t('inactive')) : '') + '</option>');
    });
    sel.innerHTML = html.join('');
    if (S.root === '' && saved('root') && S.unitByCode[saved('root')]) S.root = saved('root');
    sel.value = S.root;
    if (sel.value !== S.root) { S.root = ''; sel.value = ''; }
  }

  function onSelectionChanged() {
    save('period', S.period || '');
    save('root', S.root || '');
    S.groupOpen = {};
    S.arr = null; S.totals = null; S.texts = null;
    closeDetail();
    loadTab();
  }

  // ------------------------------------------------------------ tabs

  function selectTab(name, force) {
    if (!force && name === S.tab) { loadTab(); return; }
    S.tab = name;
    Array.prototype.forEach.call(document.querySelectorAll('[data-tab]'), function (b) {
      var on = b.getAttribute('data-tab') === name;
      b.classList.toggle('active', on);
      b.setAttribute('aria-selected', on ? 'true' : 'false');
    });
    ['arrivals', 'totals', 'texts', 'agents'].forEach(function (id) { show($(id), id === name); });
    loadTab();
  }

  function loadTab() {
    if (!S.me || !S.form) return;
    clearGlobalError();
    if (!S.period && S.tab !== 'agents') { globalError(new Error(t('noPeriods'))); return; }
    if (S.tab === 'arrivals') return loadArrivals();
    if (S.tab === 'totals') return loadTotals();
    if (S.tab === 'texts') return loadTexts();
    if (S.tab === 'agents') return loadAgents();
  }

  function getLayout(form, version) {
    var k = form + '@' + (version || '');
    if (S.layouts[k]) return Promise.resolve(S.layouts[k]);
    return api('/api/layout?' + qs({ form: form, version: version })).then(function (l) {
      S.layouts[k] = l;
      return l;
    });
  }

  // ------------------------------------------------------------ arrivals

  var arrLoading = null;   // a fetch in flight
  var arrAgain = false;    // another one is wanted after it

  function loadArrivals() {
    if (arrLoading) { arrAgain = true; return arrLoading; }
    var key = viewKey();
    if (!S.arr || S.arrKey !== key) $('arrivals-summary').innerHTML = '<p class="muted">' + esc(t('loading')) + '</p>';
    var started = Date.now();
    arrLoading = api('/api/arrivals?' + qs({ form: S.form.code, period: S.period, root: S.root })).then(function (a) {
      if (key !== viewKey()) return;        // the selection changed meanwhile
      var fresh = !S.arr || S.arrKey !== key;
      var old = S.arr;
      if (!fresh) {
        // A unit that live events moved on after this fetch began keeps its newer state.
        (a.units || []).forEach(function (u, i) {
          var l = old.byCode[u.code];
          if (l && l._liveAt && l._liveAt >= started && RANK[l.state] > RANK[u.state]) a.units[i] = l;
        });
      }
      prepareArrivals(a);
      S.arr = a; S.arrKey = key;
      if (fresh || !old) renderArrivals(true);
      else updateArrivals(old);
      S.fetchMs = Date.now() - started;
    }).catch(globalError).then(function () {
      arrLoading = null;
      if (arrAgain) { arrAgain = false; loadArrivals(); }
    });
    return arrLoading;
  }

  var searchKeys = {};    // code + name -> folded search text (kept across fetches)

  // Derived fields: groups in tree order, search keys, counts.
  function prepareArrivals(a) {
    var units = a.units = a.units || [];
    var groups = [], byKey = {};
    a.byCode = {};
    units.forEach(function (u, i) {
      a.byCode[u.code] = u;
      var sk = u.code + '\u0001' + u.name;
      u._search = searchKeys[sk] || (searchKeys[sk] = fold(u.name) + ' ' + fold(u.code));
      var g = u.parent || '';
      if (!byKey[g]) {
        byKey[g] = { key: g, name: u.parent_name || (u.parent ? u.parent : t('noParent')), units: [] };
        groups.push(byKey[g]);
      }
      u._i = i;
      u._gi = byKey[g].units.length;
      byKey[g].units.push(u);
    });
    a.groups = groups;
    a.groupByKey = byKey;
    recount(a);
  }

  function recount(a) {
    var c = { expected: 0, on_time: 0, late: 0, missing: 0, rejected: 0 };
    a.groups.forEach(function (g) {
      var gc = { expected: 0, on_time: 0, late: 0, missing: 0, rejected: 0 };
      g.units.forEach(function (u) { gc.expected++; gc[u.state] = (gc[u.state] || 0) + 1; });
      g.counts = gc;
      STATES.forEach(function (s) { c[s] += gc[s] || 0; });
      c.expected += gc.expected;
    });
    a.counts = c;
  }

  function pct(n, d) { return d ? 100 * n / d : 0; }

  function rowSig(u) { return [u.state, u.revision, u.sealed_at, u.received_at, u.rejected_code, u.rejected_reason].join('\u0001'); }

  function rowHtml(u) {
    var note = noteHtml(u);
    return '<tr data-unit="' + esc(u.code) + '" data-state="' + esc(u.state) + '" class="unit-row s-' + esc(u.state) + '">' +
      '<td class="code">' + esc(u.code) + '</td>' +
      '<td>' + esc(u.name) + '</td>' +
      '<td>' + badge(u.state) + '</td>' +
      '<td class="num">' + (u.revision === null || u.revision === undefined ? '' : esc(u.revision)) + '</td>' +
      '<td class="time">' + fmtTime(u.sealed_at) + '</td>' +
      '<td class="time">' + fmtTime(u.received_at) + '</td>' +
      '<td class="note">' + note + '</td></tr>';
  }

  function noteHtml(u) {
    return u.state === 'rejected' ? (esc(u.rejected_code) + (u.rejected_reason ? ': ' + esc(u.rejected_reason) : '')) : '';
  }

  // The same as rowHtml(u), in place (no parsing of a whole row).
  function updateRow(tr, u) {
    var c = tr.cells;
    if (tr.getAttribute('data-state') !== u.state) {
      tr.setAttribute('data-state', u.state);
      tr.className = 'unit-row s-' + u.state;
      c[2].innerHTML = badge(u.state);
    }
    c[3].textContent = u.revision === null || u.revision === undefined ? '' : u.revision;
    c[4].textContent = fmtTime(u.sealed_at);
    c[5].textContent = fmtTime(u.received_at);
    c[6].innerHTML = noteHtml(u);
  }

  function progressBar(c) {
    var on = pct(c.on_time, c.expected), late = pct(c.late, c.expected), rej = pct(c.rejected, c.expected);
    return '<span class="bar" role="img" aria-label="' + fmtPct(on + late) + '">' +
      '<span class="seg on_time" style="width:' + on.toFixed(2) + '%"></span>' +
      '<span class="seg late" style="width:' + late.toFixed(2) + '%"></span>' +
      '<span class="seg rejected" style="width:' + rej.toFixed(2) + '%"></span></span>';
  }

  function matches(u) {
    if (S.stateFilter !== 'all' && u.state !== S.stateFilter) return false;
    return !S.filterText || u._search.indexOf(S.filterText) >= 0;
  }
  function filterActive() { return S.stateFilter !== 'all' || !!S.filterText; }

  function groupOpen(g, matchedTotal) {
    if (S.groupOpen.hasOwnProperty(g.key)) return S.groupOpen[g.key];
    return matchedTotal <= COLLAPSE_LIMIT;
  }

  // The table is drawn as one block per group: a head, then its rows in
  // chunks of CHUNK rows, each chunk its own fixed-layout table inside a box
  // the browser may skip while it is off screen (content-visibility), so
  // that 10,000 rows cost what one screenful does.
  var CHUNK = 200;
  var COLS = '<colgroup><col class="c-code"><col class="c-name"><col class="c-state"><col class="c-rev">' +
    '<col class="c-time"><col class="c-time"><col class="c-note"></colgroup>';

  function groupHeadHtml(g, open, shown) {
    var c = g.counts, done = c.on_time + c.late;
    var counts = STATES.map(function (s) {
      return c[s] ? '<span class="cnt s-' + s + '" title="' + esc(t(s)) + '">' + esc(t(s)) + ' ' + fmtNum(c[s]) + '</span>' : '';
    }).join('');
    return '<div class="group-head' + (open ? ' open' : '') + '" role="button" tabindex="0" aria-expanded="' + open + '">' +
      '<span class="caret" aria-hidden="true"></span>' +
      '<span class="gname">' + esc(g.name) + '</span>' + (g.key ? ' <span class="code">' + esc(g.key) + '</span>' : '') +
      '<span class="gstats">' + esc(t('groupCount', fmtNum(done), fmtNum(c.expected), fmtPct(pct(done, c.expected)))) +
      (filterActive() ? ' · ' + esc(t('shownOf', fmtNum(shown), fmtNum(c.expected))) : '') + '</span>' +
      progressBar(c) + '<span class="gcounts">' + counts + '</span></div>';
  }

  function groupBodyHtml(g, matchedTotal) {
    var rows = [];
    for (var i = 0; i < g.units.length; i++) if (matches(g.units[i])) rows.push(g.units[i]);
    if (filterActive() && !rows.length) return '';
    var open = groupOpen(g, matchedTotal);
    var html = '<div class="group" data-group="' + esc(g.key) + '">' + groupHeadHtml(g, open, rows.length);
    if (open) {
      for (var j = 0; j < rows.length; j += CHUNK) {
        var n = Math.min(CHUNK, rows.length - j);
        html += '<div class="chunk" style="contain-intrinsic-size:auto ' + (n * 31) + 'px"><table class="grid rows">' + COLS + '<tbody>';
        for (var k = j; k < j + n; k++) { html += rowHtml(rows[k]); S.rowState[rows[k].code] = rowSig(rows[k]); }
        S.rowCount += n;
        html += '</tbody></table></div>';
      }
    } else {
      html += '<div class="collapsed-note muted">' + esc(t('unitsHidden', fmtNum(rows.length))) + '</div>';
    }
    return html + '</div>';
  }

  function matchedCount() {
    if (!filterActive()) return S.arr.units.length;
    var n = 0;
    for (var i = 0; i < S.arr.units.length; i++) if (matches(S.arr.units[i])) n++;
    return n;
  }

  function renderTable() {
    var a = S.arr;
    S.rowState = {};
    S.rowEls = null;
    S.rowCount = 0;
    var total = matchedCount();
    var parts = ['<table class="grid arrivals-head">' + COLS + '<thead><tr>',
      '<th>' + esc(t('colCode')) + '</th><th>' + esc(t('colUnit')) + '</th><th>' + esc(t('colState')) +
      '</th><th class="num">' + esc(t('colRevision')) + '</th><th>' + esc(t('colSealed')) + '</th><th>' +
      esc(t('colReceived')) + '</th><th>' + esc(t('colNote')) + '</th></tr></thead></table>'];
    for (var i = 0; i < a.groups.length; i++) parts.push(groupBodyHtml(a.groups[i], total));
    if (!a.units.length || !total) {
      parts.push('<p class="empty muted">' + esc(t(a.units.length ? 'noMatch' : 'noUnits')) + '</p>');
    }
    $('arrivals-body').innerHTML = parts.join('');
  }

  function renderSummary() {
    var a = S.arr, c = a.counts, done = c.on_time + c.late;
    var dl = a.deadline_at ? new Date(a.deadline_at) : null;
    var rel = '';
    if (dl && !isNaN(dl)) {
      var d = dl.getTime() - Date.now();
      rel = d >= 0 ? t('deadlineLeft', fmtDuration(d)) : t('deadlinePassed', fmtDuration(d));
    }
    var cards = [
      '<div class="card total"><div class="k">' + esc(t('expected')) + '</div><div class="v">' + fmtNum(c.expected) + '</div></div>',
      '<div class="card done"><div class="k">' + esc(t('completeness')) + '</div><div class="v">' + fmtPct(pct(done, c.expected)) +
        '</div><div class="sub">' + esc(t('submitted')) + ' ' + fmtNum(done) + '</div></div>'
    ];
    STATES.forEach(function (s) {
      cards.push('<div class="card s-' + s + '"><div class="k">' + esc(t(s)) + '</div><div class="v" data-count="' + s + '">' + fmtNum(c[s]) + '</div></div>');
    });
    cards.push('<div class="card deadline"><div class="k">' + esc(t('deadline')) + '</div><div class="v small">' +
      (dl ? fmtTime(a.deadline_at) : '—') + '</div><div class="sub">' + esc(t('vnTime')) + (rel ? ' · ' + esc(rel) : '') + '</div></div>');
    $('arrivals-summary').innerHTML = '<div class="cards">' + cards.join('') + '</div>' +
      '<div class="overall">' + progressBar(c) + '</div>';
    var fb = ['all'].concat(STATES).map(function (s) {
      var n = s === 'all' ? c.expected : c[s];
      return '<button type="button" data-state-filter="' + s + '" class="sf s-' + s + (S.stateFilter === s ? ' active' : '') +
        '" aria-pressed="' + (S.stateFilter === s) + '">' + esc(t(s)) + ' <b>' + fmtNum(n) + '</b></button>';
    });
    $('state-filters').innerHTML = fb.join('');
  }

  function renderArrivals(full) {
    if (!S.arr) return;
    renderSummary();
    renderCharts(true);
    if (full) renderTable();
  }

  // After a refetch: re-render only the rows and group heads that changed.
  function updateArrivals(old) {
    var a = S.arr;
    var sameSet = old.units.length === a.units.length && a.units.every(function (u) { return old.byCode[u.code]; });
    if (!sameSet) { renderArrivals(true); return; }
    var changed = [];
    a.units.forEach(function (u) { if (rowSig(u) !== rowSig(old.byCode[u.code])) changed.push(u); });
    applyChanges(changed);
  }

  // Draws the summary, the charts, the changed rows and their group heads.
  function applyChanges(changed) {
    var a = S.arr;
    renderSummary();
    renderCharts();
    if (!changed.length) return;
    if (filterActive() && S.rowCount <= COLLAPSE_LIMIT) { renderTable(); return; }   // rows may enter or leave
    var body = $('arrivals-body'), groups = {};
    if (!S.rowEls) {
      S.rowEls = {};
      var trs = body.querySelectorAll('tr[data-unit]');
      for (var i = 0; i < trs.length; i++) S.rowEls[trs[i].getAttribute('data-unit')] = trs[i];
    }
    changed.forEach(function (u) {
      groups[u.parent || ''] = true;
      var tr = S.rowEls[u.code];
      if (!tr || !tr.parentNode || S.rowState[u.code] === rowSig(u)) return;
      updateRow(tr, u);
      S.rowState[u.code] = rowSig(u);
    });
    var total = matchedCount();
    Object.keys(groups).forEach(function (k) {
      var g = a.groupByKey[k];
      var box = body.querySelector('div.group[data-group="' + cssEsc(k) + '"]');
      var head = box && box.firstElementChild;
      if (!g || !head) return;
      var shown = 0;
      if (filterActive()) g.units.forEach(function (u) { if (matches(u)) shown++; });
      head.insertAdjacentHTML('afterend', groupHeadHtml(g, groupOpen(g, total), shown));
      box.removeChild(head);
    });
    if (S.detailUnit && changed.some(function (u) { return u.code === S.detailUnit; })) openDetail(S.detailUnit);
  }

  function cssEsc(s) { return window.CSS && CSS.escape ? CSS.escape(s) : String(s).replace(/["\\]/g, '\\$&'); }

  function toggleGroup(key) {
    var g = S.arr && S.arr.groupByKey[key];
    if (!g) return;
    var open = groupOpen(g, matchedCount());
    S.groupOpen[key] = !open;
    S.rowEls = null;
    var box = $('arrivals-body').querySelector('div.group[data-group="' + cssEsc(key) + '"]');
    if (!box) { renderTable(); return; }
    box.insertAdjacentHTML('afterend', groupBodyHtml(g, matchedCount()));
    box.parentNode.removeChild(box);
  }

  function setAllGroups(open) {
    if (!S.arr) return;
    S.arr.groups.forEach(function (g) { S.groupOpen[g.key] = open; });
    renderTable();
  }

  // --- charts (inline SVG)

  function svgEl(w, h, inner, label, natural) {
    return '<svg viewBox="0 0 ' + w + ' ' + h + '" width="' + (natural ? w : '100%') + '"' + (natural ? ' height="' + h + '"' : '') +
      ' preserveAspectRatio="xMidYMin meet" role="img" aria-label="' +
      esc(label) + '" xmlns="http://www.w3.org/2000/svg">' + inner + '</svg>';
  }

  var chartLast = 0, chartTimer = null;
  function renderCharts(now) {
    // At most about once a second while live events stream in.
    var wait = 1000 - (Date.now() - chartLast);
    if (!now && wait > 0) {
      if (!chartTimer) chartTimer = setTimeout(function () { chartTimer = null; if (S.arr) renderCharts(true); }, wait);
      return;
    }
    clearTimeout(chartTimer); chartTimer = null;
    chartLast = Date.now();
    drawCharts();
  }

  function drawCharts() {
    var a = S.arr;
    // (a) cumulative share of expected units over time
    var W = 640, H = 240, L = 44, R = 14, T = 14, B = 34;
    var ev = [];
    a.units.forEach(function (u) {
      if (u.state !== 'on_time' && u.state !== 'late') return;
      var tm = Date.parse(u.received_at || u.sealed_at);
      if (!isNaN(tm)) ev.push([tm, u.state === 'on_time' ? 1 : 0]);
    });
    ev.sort(function (x, y) { return x[0] - y[0]; });
    var dl = Date.parse(a.deadline_at);
    var exp = a.counts.expected || 1;
    var out;
    if (!ev.length) {
      out = '<p class="muted chart-empty">' + esc(t('chartNoData')) + '</p>';
    } else {
      var t0 = ev[0][0], t1 = Math.max(ev[ev.length - 1][0], Date.now());
      if (!isNaN(dl)) { t0 = Math.min(t0, dl); t1 = Math.max(t1, dl); }
      var span = Math.max(t1 - t0, 60000);
      t0 -= span * 0.03; t1 += span * 0.03; span = t1 - t0;
      var X = function (tm) { return L + (W - L - R) * (tm - t0) / span; };
      var Y = function (n) { return T + (H - T - B) * (1 - n / exp); };
      var on = 0, all = 0, pOn = ['M', X(t0).toFixed(1), Y(0).toFixed(1)], pAll = pOn.slice();
      for (var i = 0; i < ev.length; i++) {
        var x = X(ev[i][0]).toFixed(1);
        pAll.push('H', x); pOn.push('H', x);
        all++; if (ev[i][1]) on++;
        pAll.push('V', Y(all).toFixed(1)); pOn.push('V', Y(on).toFixed(1));
      }
      var xe = X(t1).toFixed(1), y0 = Y(0).toFixed(1);
      pAll.push('H', xe, 'V', y0, 'Z'); pOn.push('H', xe, 'V', y0, 'Z');
      var g = [];
      [0, 25, 50, 75, 100].forEach(function (p) {
        var y = Y(exp * p / 100).toFixed(1);
        g.push('<line class="grid-line" x1="' + L + '" x2="' + (W - R) + '" y1="' + y + '" y2="' + y + '"/>' +
          '<text class="tick" x="' + (L - 6) + '" y="' + y + '" dy="0.32em" text-anchor="end">' + p + '%</text>');
      });
      for (var k = 0; k <= 4; k++) {
        var tm = t0 + span * (0.05 + 0.9 * k / 4);
        g.push('<text class="tick" x="' + X(tm).toFixed(1) + '" y="' + (H - B + 16) + '" text-anchor="middle">' + esc(fmtTime(new Date(tm).toISOString(), true)) + '</text>');
      }
      g.push('<path class="area late" d="' + pAll.join(' ') + '"><title>' + esc(t('late')) + '</title></path>');
      g.push('<path class="area on_time" d="' + pOn.join(' ') + '"><title>' + esc(t('on_time')) + '</title></path>');
      if (!isNaN(dl)) {
        var xd = X(dl).toFixed(1);
        g.push('<line class="deadline" x1="' + xd + '" x2="' + xd + '" y1="' + T + '" y2="' + (H - B) + '"/>' +
          '<text class="deadline-label" x="' + xd + '" y="' + (T - 3) + '" text-anchor="middle">' + esc(t('deadline')) + '</text>');
      }
      g.push('<line class="axis" x1="' + L + '" x2="' + (W - R) + '" y1="' + y0 + '" y2="' + y0 + '"/>');
      out = svgEl(W, H, g.join(''), t('chartArrivals'));
    }
    out += '<div class="legend"><span class="key on_time"></span>' + esc(t('on_time')) +
      ' <span class="key late"></span>' + esc(t('late')) + ' <span class="key deadline"></span>' + esc(t('deadline')) + '</div>';
    $('arrivals-chart').innerHTML = out;

    // (b) one bar per group
    var gs = a.groups, bh = 16, gap = 6, LW = 170, BW = 260, RW = 56;
    var h2 = Math.max(gs.length, 1) * (bh + gap) + 4;
    var b = [];
    gs.forEach(function (g, idx) {
      var c = g.counts, y = 2 + idx * (bh + gap);
      var won = BW * pct(c.on_time, c.expected) / 100, wl = BW * pct(c.late, c.expected) / 100;
      var name = g.name.length > 26 ? g.name.slice(0, 25) + '…' : g.name;
      b.push('<g data-group="' + esc(g.key) + '"><title>' + esc(g.name) + ': ' + esc(fmtPct(pct(c.on_time + c.late, c.expected))) + '</title>' +
        '<text class="tick" x="' + (LW - 6) + '" y="' + (y + bh / 2) + '" dy="0.32em" text-anchor="end">' + esc(name) + '</text>' +
        '<rect class="track" x="' + LW + '" y="' + y + '" width="' + BW + '" height="' + bh + '" rx="3"/>' +
        '<rect class="on_time" x="' + LW + '" y="' + y + '" width="' + won.toFixed(1) + '" height="' + bh + '"/>' +
        '<rect class="late" x="' + (LW + won).toFixed(1) + '" y="' + y + '" width="' + wl.toFixed(1) + '" height="' + bh + '"/>' +
        '<text class="tick" x="' + (LW + BW + 6) + '" y="' + (y + bh / 2) + '" dy="0.32em">' + esc(fmtPct(pct(c.on_time + c.late, c.expected))) + '</text></g>');
    });
    $('group-chart').innerHTML = gs.length ? svgEl(LW + BW + RW, h2, b.join(''), t('chartGroups'), true)
      : '<p class="muted chart-empty">' + esc(t('noUnits')) + '</p>';
  }

  // --- one unit's reports

  function openDetail(code) {
    S.detailUnit = code;
    var u = (S.arr && S.arr.byCode[code]) || S.unitByCode[code] || { code: code, name: code };
    $('unit-detail-title').textContent = t('reportsOf', u.name + ' (' + code + ')');
    var body = $('unit-detail-body');
    show($('unit-detail'), true);
    if (!body.innerHTML) body.innerHTML = '<p class="muted">' + esc(t('loading')) + '</p>';
    var form = S.form.code, period = S.period;
    Promise.all([
      api('/api/reports?' + qs({ unit: code, form: form, period: period })),
      getLayout(form).catch(function () { return null; })
    ]).then(function (res) {
      if (S.detailUnit !== code) return;
      body.innerHTML = detailHtml(u, res[0].reports || [], res[1]);
    }).catch(function (e) {
      if (S.detailUnit === code) body.innerHTML = '<p class="error">' + esc(t('errorPrefix') + e.message) + '</p>';
    });
  }

  function detailHtml(u, reports, layout) {
    var cellLabel = {}, textLabel = {}, order = [];
    if (layout) {
      var cols = [];
      (layout.lines || []).forEach(function (l) {
        if (l.kind === 'section') cols = l.columns || [];
        if (l.kind === 'row') (l.cells || []).forEach(function (c, i) {
          if (!c) return;
          cellLabel[c] = (l.no ? l.no + ' ' : '') + l.label + (cols[i] ? ' — ' + cols[i].label : '');
          order.push(c);
        });
      });
      (layout.texts || []).forEach(function (x) { textLabel[x.code] = x.label; });
    }
    var h = [];
    if (u.state) {
      h.push('<p>' + badge(u.state) + (u.state === 'rejected' && u.rejected_reason ?
        ' <span class="note">' + esc(t('rejectedReason')) + ': ' + esc(u.rejected_code) + ' — ' + esc(u.rejected_reason) + '</span>' : '') + '</p>');
    }
    if (!reports.length) { h.push('<p class="muted">' + esc(t('noReports')) + '</p>'); return h.join(''); }
    reports.forEach(function (r) {
      h.push('<section class="report" data-revision="' + esc(r.revision) + '"><h3>' + esc(t('revision', r.revision)) + '</h3><dl class="kv">' +
        '<dt>' + esc(t('receipt')) + '</dt><dd>' + esc(r.receipt) + '</dd>' +
        '<dt>' + esc(t('sender')) + '</dt><dd class="code">' + esc(r.sender || '') + '</dd>' +
        '<dt>' + esc(t('sealedAt')) + '</dt><dd>' + fmtTime(r.sealed_at) + '</dd>' +
        '<dt>' + esc(t('receivedAt')) + '</dt><dd>' + fmtTime(r.received_at) + '</dd>' +
        '<dt>' + esc(t('version')) + '</dt><dd>' + (r.version ? esc(r.version) : '—') + '</dd></dl>');
      var cells = r.cells || {};
      var codes = order.filter(function (c) { return cells.hasOwnProperty(c); });
      Object.keys(cells).sort().forEach(function (c) { if (codes.indexOf(c) < 0) codes.push(c); });
      if (codes.length) {
        h.push('<h4>' + esc(t('cells')) + '</h4><table class="grid compact"><tbody>');
        codes.forEach(function (c) {
          var v = cells[c];
          h.push('<tr><td class="code">' + esc(c) + '</td><td>' + esc(cellLabel[c] || '') + '</td><td class="num">' +
            (v === null ? '<span class="muted">' + esc(t('notReported')) + '</span>' : fmtNum(v)) + '</td></tr>');
        });
        h.push('</tbody></table>');
      }
      var texts = r.texts || {};
      var tk = Object.keys(texts);
      if (tk.length) {
        h.push('<h4>' + esc(t('texts')) + '</h4>');
        tk.forEach(function (k) {
          h.push('<div class="text-block"><div class="text-label">' + esc(textLabel[k] || k) + '</div><div class="text">' + esc(texts[k]) + '</div></div>');
        });
      }
      h.push('</section>');
    });
    return h.join('');
  }

  function closeDetail() {
    S.detailUnit = null;
    show($('unit-detail'), false);
    $('unit-detail-body').innerHTML = '';
  }

  // ------------------------------------------------------------ totals

  function exportHref(kind) {
    return '/api/export.' + kind + '?' + qs({ form: S.form.code, period: S.period, root: S.root });
  }

  function loadTotals() {
    var key = viewKey();
    $('download-csv').href = exportHref('csv');
    $('download-xlsx').href = exportHref('xlsx');
    return api('/api/totals?' + qs({ form: S.form.code, period: S.period, root: S.root })).then(function (tot) {
      return getLayout(tot.form || S.form.code, tot.version).catch(function () { return getLayout(S.form.code); })
        .then(function (layout) {
          if (key !== viewKey()) return;
          S.totals = { data: tot, layout: layout };
          renderTotals();
        });
    }).catch(globalError);
  }

  function renderTotals() {
    if (!S.totals) return;
    var d = S.totals.data, layout = S.totals.layout, byCell = {};
    (d.cells || []).forEach(function (c) { byCell[c.code] = c; });
    $('totals-title').textContent = (lang === 'en' && layout.title_en ? layout.title_en : (d.title || layout.title || '')) + ' — ' + d.period;
    var c = d.completeness || {};
    $('totals-meta').textContent = t('totalsMeta', fmtNum(d.reports || 0), fmtNum((c.on_time || 0) + (c.late || 0)),
      fmtNum(c.expected || 0), fmtPct(c.percent), d.deadline_at ? fmtTime(d.deadline_at) : '—');
    var h = [], cols = null, open = false;
    function close() { if (open) h.push('</tbody></table>'); open = false; }
    (layout.lines || []).forEach(function (l) {
      if (l.kind === 'section') {
        close();
        cols = l.columns || [];
        h.push('<h3 class="section-title">' + esc(lang === 'en' && l.label_en ? l.label_en : l.label) + '</h3>');
        h.push('<table class="grid totals-table" data-section="' + esc(l.code) + '"><thead><tr><th class="no">' + esc(t('colNo')) +
          '</th><th>' + esc(t('colIndicator')) + '</th>' + cols.map(function (col) {
            return '<th class="num">' + esc(lang === 'en' && col.label_en ? col.label_en : col.label) + '</th>';
          }).join('') + '</tr></thead><tbody>');
        open = true;
      } else if (l.kind === 'heading') {
        if (!open) return;
        h.push('<tr class="heading"><td class="no">' + esc(l.no) + '</td><td colspan="' + ((cols ? cols.length : 0) + 1) + '">' +
          esc(lang === 'en' && l.label_en ? l.label_en : l.label) + '</td></tr>');
      } else if (l.kind === 'row') {
        if (!open) return;
        h.push('<tr data-row="' + esc(l.code) + '"><td class="no">' + esc(l.no) + '</td><td>' + esc(lang === 'en' && l.label_en ? l.label_en : l.label) + '</td>');
        (cols || []).forEach(function (col, i) {
          var code = (l.cells || [])[i];
          if (!code) { h.push('<td class="na"></td>'); return; }
          var cell = byCell[code] || { sum: null, units: 0 };
          var raw = cell.sum === null || cell.sum === undefined ? '' : String(cell.sum);
          h.push('<td class="num" data-cell="' + esc(code) + '" data-value="' + esc(raw) + '" title="' +
            esc(code + ': ' + t('reportedBy', fmtNum(cell.units || 0))) + '">' + fmtNum(cell.sum) + '</td>');
        });
        h.push('</tr>');
      }
    });
    close();
    $('totals-tables').innerHTML = h.join('');

    var ind = d.indicators || [];
    if (!ind.length) { $('totals-indicators').innerHTML = '<p class="muted">' + esc(t('noIndicators')) + '</p>'; return; }
    var labelEn = {};
    (layout.indicators || []).forEach(function (x) { labelEn[x.code] = x.label_en; });
    var r = ['<table class="grid indicators"><thead><tr><th>' + esc(t('colIndicator')) + '</th><th class="num">' + esc(t('numDen')) +
      '</th><th class="num">' + esc(t('valueCol')) + '</th><th>' + esc(t('target')) + '</th><th>' + esc(t('result')) + '</th></tr></thead><tbody>'];
    ind.forEach(function (x) {
      var target = [];
      var hasTarget = x.target_min !== null && x.target_min !== undefined || x.target_max !== null && x.target_max !== undefined;
      if (x.target_min !== null && x.target_min !== undefined) target.push('≥ ' + fmtNum(x.target_min, x.target_min % 1 ? 1 : 0));
      if (x.target_max !== null && x.target_max !== undefined) target.push('≤ ' + fmtNum(x.target_max, x.target_max % 1 ? 1 : 0));
      var met = x.met === true ? 'true' : x.met === false ? 'false' : 'null';
      var res = x.met === true ? t('met') : x.met === false ? t('notMet') : (x.value === null || x.value === undefined || !hasTarget && x.value === null) ? t('noData') : t('noTarget');
      var scale = x.scale && x.scale !== 100 ? ' / ' + fmtNum(x.scale) : '%';
      r.push('<tr data-indicator="' + esc(x.code) + '" data-met="' + met + '" class="met-' + met + '"><td>' +
        esc(lang === 'en' && labelEn[x.code] ? labelEn[x.code] : x.label) + '</td><td class="num">' +
        fmtNum(x.numerator) + ' / ' + fmtNum(x.denominator) + '</td><td class="num">' +
        (x.value === null || x.value === undefined ? '—' : fmtNum(x.value, 1) + esc(scale)) + '</td><td>' +
        esc(target.join(', ')) + '</td><td class="result">' + esc(res) + '</td></tr>');
    });
    r.push('</tbody></table>');
    $('totals-indicators').innerHTML = r.join('');
  }

  // ------------------------------------------------------------ texts

  function loadTexts() {
    var key = viewKey();
    return getLayout(S.form.code).then(function (layout) {
      if (key !== viewKey()) return;
      var sel = $('texts-section'), list = layout.texts || [];
      var cur = sel.value || saved('section');
      sel.innerHTML = list.map(function (x) {
        return '<option value="' + esc(x.code) + '">' + esc(lang === 'en' && x.label_en ? x.label_en : x.label) + '</option>';
      }).join('');
      if (!list.length) { S.texts = { none: true }; renderTexts(); return; }
      sel.value = list.some(function (x) { return x.code === cur; }) ? cur : list[0].code;
      var section = sel.value;
      return api('/api/texts?' + qs({ form: S.form.code, period: S.period, section: section, root: S.root })).then(function (res) {
        if (key !== viewKey() || sel.value !== section) return;
        S.texts = { section: section, items: res.texts || [] };
        renderTexts();
      });
    }).catch(globalError);
  }

  function renderTexts() {
    if (!S.texts) return;
    var box = $('texts-list');
    if (S.texts.none) { box.innerHTML = '<p class="muted">' + esc(t('noTextSections')) + '</p>'; $('texts-meta').textContent = ''; return; }
    var items = S.texts.items.filter(function (x) { return x.text && String(x.text).trim(); });
    $('texts-meta').textContent = t('textsMeta', fmtNum(items.length));
    if (!items.length) { box.innerHTML = '<p class="muted">' + esc(t('noTexts')) + '</p>'; return; }
    box.innerHTML = items.map(function (x) {
      return '<article class="text-card" data-unit="' + esc(x.unit) + '"><header><b>' + esc(x.name || x.unit) + '</b> <span class="code">' +
        esc(x.unit) + '</span> <span class="muted">' + esc(t('revision', x.revision)) + '</span></header>' +
        '<div class="text">' + esc(x.text) + '</div></article>';
    }).join('');
  }

  function copyTexts() {
    if (!S.texts || !S.texts.items) return;
    var txt = S.texts.items.filter(function (x) { return x.text; }).map(function (x) {
      return (x.name || x.unit) + ' (' + x.unit + ')\n' + x.text;
    }).join('\n\n');
    var done = function () { $('texts-meta').textContent = t('copied'); };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(txt).then(done, function () {});
  }

  // ------------------------------------------------------------ agents

  function loadAgents() {
    return api('/api/agents').then(function (res) {
      S.agents = res.agents || [];
      renderAgents();
    }).catch(globalError);
  }

  function renderAgents() {
    if (!S.agents) return;
    var now = Date.now(), stale = 0, revoked = 0;
    var admin = S.me && S.me.role === 'admin';
    var rows = S.agents.map(function (a) {
      var last = a.last_message_at || a.last_seen_at;
      var lt = last ? Date.parse(last) : NaN;
      var isStale = !a.revoked_at && (isNaN(lt) || now - lt > STALE_MS);
      if (isStale) stale++;
      if (a.revoked_at) revoked++;
      var cls = (a.revoked_at ? 'revoked' : '') + (isStale ? ' stale' : '');
      var err = a.last_error ? esc(a.last_error.code) + (a.last_error.reason ? ': ' + esc(a.last_error.reason) : '') +
        (a.last_error.at ? ' <span class="muted">(' + fmtTime(a.last_error.at) + ')</span>' : '') : '';
      var units = (a.units || []).join(', ');
      return '<tr data-agent="' + esc(a.fingerprint) + '" class="' + cls.trim() + '">' +
        '<td class="code">' + esc(a.fingerprint) + '</td>' +
        '<td>' + esc(units) + '</td>' +
        '<td class="time">' + fmtTime(a.enrolled_at) + (a.revoked_at ? '<br><span class="muted">' + esc(t('revokedAt', fmtTime(a.revoked_at))) + '</span>' : '') + '</td>' +
        '<td class="time">' + (last ? fmtTime(last) + '<br><span class="muted">' + esc(t('ago', fmtDuration(now - lt))) + '</span>' : '<span class="muted">' + esc(t('never')) + '</span>') + '</td>' +
        '<td class="num">' + fmtNum(a.queue_depth) + '</td>' +
        '<td class="num">' + (a.oldest_queued_age_s === null || a.oldest_queued_age_s === undefined || !a.queue_depth ? '' : esc(fmtDuration(a.oldest_queued_age_s * 1000))) + '</td>' +
        '<td>' + esc(a.agent_version) + '</td>' +
        '<td class="num">' + (a.clock_skew_ms === null || a.clock_skew_ms === undefined ? '' : fmtNum(a.clock_skew_ms) + ' ms') + '</td>' +
        '<td class="note">' + err + '</td>' +
        '<td class="num">' + fmtNum(a.rejected || 0) + '</td>' +
        (admin ? '<td>' + (a.revoked_at ? '' : '<button type="button" class="revoke danger" data-key="' + esc(a.key) + '" data-fp="' + esc(a.fingerprint) +
          '" data-units="' + esc(units) + '">' + esc(t('revoke')) + '</button>') + '</td>' : '') + '</tr>';
    });
    $('agents-meta').textContent = t('agentsMeta', fmtNum(S.agents.length), fmtNum(stale), fmtNum(revoked));
    if (!rows.length) { $('agents-table').innerHTML = '<p class="muted">' + esc(t('noAgents')) + '</p>'; return; }
    var head = ['fingerprint', 'units', 'enrolledAt', 'lastSeen', 'queue', 'oldest', 'agentVersion', 'skew', 'lastError', 'rejectedCount'];
    $('agents-table').innerHTML = '<table class="grid agents-table"><thead><tr>' + head.map(function (k) {
      return '<th>' + esc(t(k)) + '</th>';
    }).join('') + (admin ? '<th></th>' : '') + '</tr></thead><tbody>' + rows.join('') + '</tbody></table>';
  }

  function enrollResult(msg, ok) {
    var el = $('enroll-result');
    el.textContent = msg;
    el.className = ok ? 'ok' : 'error';
  }

  function onEnroll(ev) {
    ev.preventDefault();
    var key = $('enroll-key').value.trim();
    var units = $('enroll-units').value.split(/[\s,;]+/).filter(Boolean);
    if (!key || !units.length) { enrollResult(t('enrollMissing'), false); return; }
    $('enroll-submit').disabled = true;
    api('/api/agents/enroll', { body: { key: key, units: units } }).then(function (r) {
      enrollResult(t('enrolled', r.fingerprint, (r.units || units).join(', ')), true);
      $('enroll-key').value = ''; $('enroll-units').value = '';
      loadAgents();
    }, function (e) {
      enrollResult(e.status === 403 ? t('forbidden') + ' (' + e.message + ')' : t('errorPrefix') + e.message, false);
    }).then(function () { $('enroll-submit').disabled = false; });
  }

  function onRevoke(btn) {
    var fp = btn.getAttribute('data-fp');
    if (!window.confirm(t('revokeConfirm', fp, btn.getAttribute('data-units')))) return;
    btn.disabled = true;
    api('/api/agents/revoke', { body: { key: btn.getAttribute('data-key') } }).then(function () {
      enrollResult(t('revoked', fp), true);
      loadAgents();
    }, function (e) {
      btn.disabled = false;
      enrollResult(e.status === 403 ? t('forbidden') + ' (' + e.message + ')' : t('errorPrefix') + e.message, false);
    });
  }

  // ------------------------------------------------------------ live events

  var live = { es: null, connected: false, queue: [], timer: null, last: 0, retry: null, wasDown: false, other: 0 };

  function setLive(on) {
    live.connected = on;
    var el = $('live');
    el.classList.toggle('on', on);
    el.classList.toggle('off', !on);
    el.setAttribute('data-connected', on ? 'true' : 'false');
    el.querySelector('.live-text').textContent = t(on ? 'connected' : 'disconnected');
  }

  function startEvents() {
    stopEvents();
    if (!window.EventSource) return;
    var es = new EventSource('/api/events', { withCredentials: true });
    live.es = es;
    es.onopen = function () {
      setLive(true);
      // Events may have been missed before (or between) connections.
      if (live.wasDown) { live.wasDown = false; refreshAll(); } else loadTab();
    };
    es.onerror = function () {
      setLive(false);
      live.wasDown = true;
      if (es.readyState === EventSource.CLOSED) {
        // Not retried by the browser (401, say): find out why, try again later.
        api('/api/me').then(function () {
          clearTimeout(live.retry);
          live.retry = setTimeout(function () { if (S.me) startEvents(); }, 5000);
        }, function () {});
      }
    };
    function on(type) {
      es.addEventListener(type, function (e) {
        var d = null;
        try { d = JSON.parse(e.data || '{}'); } catch (x) { return; }
        enqueue(type, d);
      });
    }
    on('arrival'); on('rejection'); on('agent'); on('resync');
  }

  function stopEvents() {
    clearTimeout(live.retry);
    clearTimeout(live.timer); live.timer = null;
    live.queue = [];
    if (live.es) { live.es.close(); live.es = null; }
    setLive(false);
  }

  function enqueue(type, d) {
    if (type === 'resync') live.queue.push({ type: type });
    else if (type === 'agent') live.other++;
    else if (S.form && d.form === S.form.code && d.period === S.period) live.queue.push({ type: type, d: d });
    else live.other++;
    if (live.timer) return;
    var wait = Math.max(0, FLUSH_MS - (Date.now() - live.last));
    live.timer = setTimeout(flush, wait);
  }

  // Applies a batch of events: a few are applied to the rows at once (the
  // state rule of the contract), then /api/arrivals is fetched again, once,
  // and only the rows that changed are drawn again.
  function flush() {
    live.timer = null;
    live.last = Date.now();
    var q = live.queue, other = live.other;
    live.queue = []; live.other = 0;
    if (!S.me) return;
    var resync = q.some(function (e) { return e.type === 'resync'; });
    if (resync) { refreshAll(); return; }
    if (!q.length) {
      if (other && S.tab === 'agents') refreshTabLater();
      return;
    }
    if (S.tab !== 'arrivals' || !S.arr || S.arrKey !== viewKey()) { refreshTabLater(); return; }
    // The state rule of the contract, applied at once; the server's answer
    // (fetched again below, at most every few seconds during a flood)
    // settles the rest (revisions of corrections, a changed unit tree).
    var a = S.arr, dl = Date.parse(a.deadline_at), now = Date.now(), changed = {};
    q.forEach(function (e) {
      var u = a.byCode[e.d.unit];
      if (!u) return;
      var nu = null;
      if (e.type === 'arrival' && (u.state === 'missing' || u.state === 'rejected')) {
        nu = Object.assign({}, u);
        nu.state = (!isNaN(dl) && Date.parse(e.d.sealed_at) <= dl) ? 'on_time' : 'late';
        nu.revision = e.d.revision; nu.sealed_at = e.d.sealed_at; nu.received_at = e.d.received_at;
        nu.rejected_code = null; nu.rejected_reason = null;
      } else if (e.type === 'arrival' && e.d.revision > (u.revision || 0)) {
        nu = Object.assign({}, u);
        nu.revision = e.d.revision;          // a correction: the state stays
      } else if (e.type === 'rejection' && u.state === 'missing') {
        nu = Object.assign({}, u);
        nu.state = 'rejected'; nu.rejected_code = e.d.code; nu.rejected_reason = e.d.reason;
      }
      if (nu) { nu._liveAt = now; replaceUnit(a, nu); changed[nu.code] = nu; }
    });
    var list = Object.keys(changed).map(function (k) { return changed[k]; });
    if (list.length) { recount(a); applyChanges(list); }
    scheduleReconcile(q.length > 50);
  }

  var recTimer = null;
  function scheduleReconcile(flood) {
    if (recTimer) return;
    var delay = flood ? Math.max(2000, 5 * (S.fetchMs || 0)) : FLUSH_MS;
    recTimer = setTimeout(function () { recTimer = null; if (S.me && S.tab === 'arrivals') loadArrivals(); }, delay);
  }

  function replaceUnit(a, nu) {
    var old = a.byCode[nu.code];
    var i = old ? old._i : -1;
    if (i >= 0 && a.units[i] === old) a.units[i] = nu;
    a.byCode[nu.code] = nu;
    var g = a.groupByKey[nu.parent || ''];
    if (g && old && g.units[old._gi] === old) g.units[old._gi] = nu;
  }

  var tabTimer = null;
  function refreshTabLater() {
    if (tabTimer) return;
    tabTimer = setTimeout(function () { tabTimer = null; if (S.me) loadTab(); }, 1500);
  }

  function refreshAll() {
    S.layouts = {};
    api('/api/forms').then(function (r) {
      S.forms = r.forms || S.forms;
      var f = S.forms.filter(function (x) { return S.form && x.code === S.form.code; })[0];
      if (f) {
        S.form = f;
        var sel = $('period-select'), cur = S.period;
        sel.innerHTML = (f.periods || []).map(function (p) { return '<option value="' + esc(p) + '">' + esc(p) + '</option>'; }).join('');
        if ((f.periods || []).indexOf(cur) < 0 && cur) sel.insertAdjacentHTML('beforeend', '<option value="' + esc(cur) + '">' + esc(cur) + '</option>');
        sel.value = cur;
      }
    }).catch(function () {}).then(loadTab);
  }

  // ------------------------------------------------------------ wiring

  function wire() {
    $('login-form').addEventListener('submit', onLogin);
    $('logout').addEventListener('click', onLogout);
    Array.prototype.forEach.call(document.querySelectorAll('.lang-switch'), function (b) {
      b.addEventListener('click', function () { setLang(lang === 'vi' ? 'en' : 'vi'); });
    });
    $('form-select').addEventListener('change', function (e) {
      var f = S.forms.filter(function (x) { return x.code === e.target.value; })[0];
      if (f) { setForm(f, false); onSelectionChanged(); }
    });
    $('period-select').addEventListener('change', function (e) { S.period = e.target.value; onSelectionChanged(); });
    $('root-select').addEventListener('change', function (e) { S.root = e.target.value; onSelectionChanged(); });
    Array.prototype.forEach.call(document.querySelectorAll('[data-tab]'), function (b) {
      b.addEventListener('click', function () { selectTab(b.getAttribute('data-tab')); });
    });

    var refilter = debounce(function () { if (S.arr) renderTable(); }, 150);
    $('arrivals-filter').addEventListener('input', function (e) { S.filterText = fold(e.target.value.trim()); refilter(); });
    $('state-filters').addEventListener('click', function (e) {
      var b = e.target.closest('[data-state-filter]');
      if (!b) return;
      S.stateFilter = b.getAttribute('data-state-filter');
      Array.prototype.forEach.call($('state-filters').children, function (x) {
        var on = x === b;
        x.classList.toggle('active', on);
        x.setAttribute('aria-pressed', on ? 'true' : 'false');
      });
      if (S.arr) renderTable();
    });
    $('expand-all').addEventListener('click', function () { setAllGroups(true); });
    $('collapse-all').addEventListener('click', function () { setAllGroups(false); });
    $('arrivals-body').addEventListener('click', function (e) {
      var head = e.target.closest('.group-head, .collapsed-note');
      if (head) {
        var box = head.closest('div.group[data-group]');
        if (box) toggleGroup(box.getAttribute('data-group'));
        return;
      }
      var tr = e.target.closest('tr[data-unit]');
      if (tr) openDetail(tr.getAttribute('data-unit'));
    });
    $('arrivals-body').addEventListener('keydown', function (e) {
      if ((e.key === 'Enter' || e.key === ' ') && e.target.classList.contains('group-head')) {
        e.preventDefault();
        toggleGroup(e.target.parentNode.getAttribute('data-group'));
      }
    });
    var topbarHeight = function () {
      var tb = document.querySelector('.topbar');
      if (tb && tb.offsetHeight) document.documentElement.style.setProperty('--topbar-h', tb.offsetHeight + 'px');
    };
    window.addEventListener('resize', debounce(topbarHeight, 100));
    setTimeout(topbarHeight, 0);
    S.topbarHeight = topbarHeight;
    $('group-chart').addEventListener('click', function (e) {
      var g = e.target.closest('g[data-group]');
      if (!g) return;
      var key = g.getAttribute('data-group');
      S.groupOpen[key] = true;
      renderTable();
      var box = $('arrivals-body').querySelector('div.group[data-group="' + cssEsc(key) + '"]');
      if (box) box.scrollIntoView({ block: 'start' });
    });
    $('unit-detail-close').addEventListener('click', closeDetail);
    document.addEventListener('keydown', function (e) { if (e.key === 'Escape' && S.detailUnit) closeDetail(); });

    $('texts-section').addEventListener('change', function (e) { save('section', e.target.value); loadTexts(); });
    $('texts-copy').addEventListener('click', copyTexts);
    $('print').addEventListener('click', function () { window.print(); });

    $('enroll-form').addEventListener('submit', onEnroll);
    $('agents-table').addEventListener('click', function (e) {
      var b = e.target.closest('button.revoke');
      if (b) onRevoke(b);
    });
  }

  function boot() {
    applyStatic();
    wire();
    api('/api/me', { noRedirect: true }).then(start, function (e) {
      toLogin(e.status && e.status !== 401 ? t('errorPrefix') + e.message : '');
    });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
