// The staging-shop test site (tests/site/): a test CA and leaf made with the openssl CLI at test
// time, a copy of the site with its brotli files, and an nginx configuration generated from the
// per-page files (<page>.headers: response headers; <page>.nginx: extra location directives;
// <host>/_server.nginx: server-level directives). nginx runs in the foreground as our child,
// on 127.0.0.1 only; every host name is a server_name on the same port, told apart by SNI.
import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const SITE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../site');
export const TEST_CA_NAME = 'fcaudit staging shop test CA';
export const HOSTS = ['shop.test', 'checkout.test', 'embed.test', 'js.stripe.com', 'api.stripe.com'];

function openssl(args, opts = {}) {
  return execFileSync('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'], ...opts });
}

// base64 SHA-256 of a certificate's SubjectPublicKeyInfo (what Chromium's
// --ignore-certificate-errors-spki-list takes).
export function spkiHash(certFile) {
  const pub = openssl(['x509', '-in', certFile, '-pubkey', '-noout']);
  const der = openssl(['pkey', '-pubin', '-outform', 'DER'], { input: pub });
  return openssl(['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
}

// A throwaway CA and one leaf for every test host (EC P-256, short validity, SAN + serverAuth).
export function makeCerts(dir) {
  fs.mkdirSync(dir, { recursive: true });
  const f = (n) => path.join(dir, n);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('ca.key')]);
  openssl(['req', '-x509', '-new', '-key', f('ca.key'), '-sha256', '-days', '7',
    '-subj', '/CN=' + TEST_CA_NAME,
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
    '-out', f('ca.pem')]);
  openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f('leaf.key')]);
  openssl(['req', '-new', '-key', f('leaf.key'), '-subj', '/CN=shop.test', '-out', f('leaf.csr')]);
  fs.writeFileSync(f('leaf.ext'), [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=' + HOSTS.map((h) => 'DNS:' + h).join(','),
    '',
  ].join('\n'));
  openssl(['x509', '-req', '-in', f('leaf.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'),
    '-CAcreateserial', '-days', '7', '-sha256', '-extfile', f('leaf.ext'), '-out', f('leaf.pem')]);
  fs.writeFileSync(f('fullchain.pem'),
    fs.readFileSync(f('leaf.pem'), 'utf8') + fs.readFileSync(f('ca.pem'), 'utf8'));
  return {
    ca: f('ca.pem'), chain: f('fullchain.pem'), key: f('leaf.key'),
    caSpki: spkiHash(f('ca.pem')), leafSpki: spkiHash(f('leaf.pem')),
  };
}

function walk(dir, out = []) {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
  return out;
}

// Copies the site to www/ and makes the precompressed files: a page whose .headers say
// "Content-Encoding: br" is served from <page>.html.br.
export function prepareSite(www) {
  fs.cpSync(SITE_DIR, www, { recursive: true });
  for (const file of walk(www)) {
    if (!file.endsWith('.headers')) continue;
    if (!/^content-encoding:\s*br\s*$/im.test(fs.readFileSync(file, 'utf8'))) continue;
    const html = file.replace(/\.headers$/, '.html');
    execFileSync('brotli', ['-f', '-q', '11', '-o', html + '.br', html]);
  }
}

function parseHeaders(text, file) {
  const out = [];
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(.*)$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: expected "Name: value"`);
    if (/[$]/.test(m[2])) throw new Error(`${file}:${i + 1}: '$' is not supported in values`);
    out.push([m[1], m[2]]);
  }
  return out;
}

const q = (s) => '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"') + '"';

// One exact-match location per page that has a .headers or .nginx file.
function locations(root) {
  const pages = new Map();
  for (const file of walk(root)) {
    const m = /^(.*)\.(headers|nginx)$/.exec(path.relative(root, file));
    if (!m || path.basename(file) === '_server.nginx') continue;
    const entry = pages.get(m[1]) || {};
    entry[m[2]] = file;
    pages.set(m[1], entry);
  }
  let conf = '';
  for (const [page, entry] of [...pages].sort()) {
    conf += `    location = /${page}.html {\n`;
    if (entry.headers) {
      for (const [name, value] of parseHeaders(fs.readFileSync(entry.headers, 'utf8'), entry.headers)) {
        conf += `        add_header ${name} ${q(value)} always;\n`;
      }
    }
    if (entry.nginx) conf += fs.readFileSync(entry.nginx, 'utf8').replace(/^/gm, '        ') + '\n';
    conf += '    }\n';
  }
  return conf;
}

export function nginxConfig({ dir, www, port, certs }) {
  const t = (n) => path.join(dir, n);
  let conf = `# generated by tests/browser/site.mjs
daemon off;
master_process on;
worker_processes 1;
pid ${t('nginx.pid')};
error_log ${t('nginx-error.log')} warn;
${process.getuid && process.getuid() === 0 ? 'user root;' : ''}
events { worker_connections 256; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log ${t('nginx-access.log')};
    client_body_temp_path ${t('nginx-tmp/body')};
    proxy_temp_path ${t('nginx-tmp/proxy')};
    fastcgi_temp_path ${t('nginx-tmp/fastcgi')};
    uwsgi_temp_path ${t('nginx-tmp/uwsgi')};
    scgi_temp_path ${t('nginx-tmp/scgi')};
    server_tokens off;
    keepalive_timeout 30s;
    gzip off;
    ssl_certificate ${certs.chain};
    ssl_certificate_key ${certs.key};
    ssl_protocols TLSv1.2 TLSv1.3;
`;
  for (const [i, host] of HOSTS.entries()) {
    const root = path.join(www, host);
    const extra = path.join(root, '_server.nginx');
    conf += `
  server {
    listen 127.0.0.1:${port} ssl${i === 0 ? ' default_server' : ''};
    server_name ${host};
    root ${root};
    index index.html;
    location ~ \\.(headers|nginx|expected\\.json)$ { return 404; }
${locations(root)}${fs.existsSync(extra) ? fs.readFileSync(extra, 'utf8').replace(/^/gm, '    ') + '\n' : ''}  }
`;
  }
  return conf + '}\n';
}

// Starts nginx in the foreground; resolves once it accepts connections.
export function startNginx(dir, conf) {
  fs.mkdirSync(path.join(dir, 'nginx-tmp'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
  const child = spawn('nginx', ['-p', dir, '-c', path.join(dir, 'nginx.conf'),
    '-e', path.join(dir, 'nginx-error.log')], { stdio: ['ignore', 'inherit', 'inherit'] });
  return child;
}

// The pages with an <page>.expected.json (not the run summary's), by name; FCA_ONLY (a regular
// expression, e.g. 'checkout-gzip$') keeps the matching ones only.
export function scenarios() {
  const out = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.expected.json') && p !== path.join(SITE_DIR, 'summary.expected.json')) {
        const rel = path.relative(SITE_DIR, p).replace(/\.expected\.json$/, '');
        out.push({ name: rel, ...JSON.parse(fs.readFileSync(p, 'utf8')) });
      }
    }
  };
  walk(SITE_DIR);
  const only = process.env.FCA_ONLY;
  return out.sort((a, b) => a.name.localeCompare(b.name)).filter((s) => !only || new RegExp(only).test(s.name));
}

// In the page: the #status element says `text` (a scenario's "ready" / "until").
export const statusHas = (text) => {
  const el = document.getElementById('status');
  return !!el && el.textContent.includes(text);
};

// The frame of a page with this URL, once it exists (bounded).
export async function waitFrame(page, url, ms = 10000) {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    const f = page.frames().find((fr) => fr.url() === url);
    if (f) return f;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`frame ${url} never appeared`);
}

// What a scenario does once its page has loaded: wait for its frame and its "ready" status, and
// for a flow, click, wait for the status it reaches and for the popup it opens to load.
// Returns the frame the scenario acts in.
export async function playScenario(ctx, page, sc) {
  const target = sc.frame ? await waitFrame(page, sc.frame) : page.mainFrame();
  if (sc.ready) await target.waitForFunction(statusHas, sc.ready, { timeout: 10000 });
  if (sc.flow) {
    const popup = ctx.waitForEvent('page', { timeout: 10000 });
    await target.click(sc.flow.click, { timeout: 5000 });
    await target.waitForFunction(statusHas, sc.flow.until, { timeout: 10000 });
    const pop = await popup;
    await pop.waitForURL((u) => u.href !== 'about:blank', { timeout: 10000 });
    await pop.waitForLoadState('load', { timeout: 10000 });
  }
  return target;
}
