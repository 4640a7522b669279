// fcaudit CA page: finds out whether this browser trusts fcaudit's CA by loading
// https://fcaudit.test/trust-check through the proxy. Reaching it at all over https means the
// browser accepted the certificate fcaudit minted for fcaudit.test; the http variant tells "uses
// the proxy but does not trust the CA" apart from "does not use the proxy".
'use strict';
(function () {
  const out = document.getElementById('trust');
  const want = document.body.dataset.sha256 || '';
  function show(cls, text) {
    out.className = 'trust ' + cls;
    out.dataset.state = cls;
    out.textContent = text;
  }
  async function probe(base) {
    const ctl = new AbortController();
    const t = setTimeout(() => ctl.abort(), 6000);
    try {
      const r = await fetch(base + '/trust-check?t=' + Date.now(), {
        cache: 'no-store', mode: 'cors', credentials: 'omit', signal: ctl.signal,
      });
      if (!r.ok) return null;
      const j = await r.json();
      return j && j.fcaudit === true ? j : null;
    } catch (e) {
      return null;
    } finally {
      clearTimeout(t);
    }
  }
  async function check() {
    if (location.protocol === 'https:' && location.hostname === 'fcaudit.test') {
      show('ok', 'This browser trusts fcaudit\'s CA: this very page came over https through the proxy.');
      return;
    }
    show('unknown', 'Checking whether this browser trusts fcaudit\'s CA…');
    const https = await probe('https://fcaudit.test');
    if (https) {
      if (want && https.sha256 && https.sha256 !== want)
        show('unknown', 'This browser trusts the CA of another fcaudit instance than the one serving this page.');
      else show('ok', 'This browser trusts fcaudit\'s CA: https://fcaudit.test/ loaded through the proxy without a certificate error.');
      return;
    }
    const http = location.protocol === 'http:' ? await probe('http://fcaudit.test') : null;
    if (http)
      show('bad', 'Not trusted yet: this browser uses fcaudit as its proxy but does not trust its CA. Install the certificate with the steps below, then reload this page.');
    else
      show('unknown', 'Cannot tell: this browser does not seem to use fcaudit as its proxy (http://fcaudit.test/ is not reachable from here). Set the proxy, then open http://fcaudit.test/ca.');
  }
  document.getElementById('recheck').addEventListener('click', check);
  check();
})();
