#!/usr/bin/env node
// Creates a throwaway test CA and a server certificate for the loopback fixture servers, in test/.certs/:
//   ca.pem, ca-key.pem, server.pem, server-key.pem
// Tests trust the CA through NODE_EXTRA_CA_CERTS=test/.certs/ca.pem (see `npm test`).
// Idempotent: when the files exist, are valid for 30+ more days, chain to the CA and cover every name, it exits at once.
// Safe to run concurrently: a new set is built in a temp dir and moved into place with one directory rename.
import { KeyObject, X509Certificate, createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import 'reflect-metadata'; // @peculiar/x509 resolves its algorithms through tsyringe, which needs it
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto);

const CERT_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..', '.certs');
const FILES = ['ca.pem', 'ca-key.pem', 'server.pem', 'server-key.pem'];

const DNS_NAMES = [
  'localhost',
  'media.example.test', '*.example.test',
  'www.tiktok.com', 'tiktok.com', 'm.tiktok.com', 'vm.tiktok.com', 'vt.tiktok.com', '*.tiktok.com',
  '*.tiktokcdn.com', '*.tiktokcdn-us.com', 'www.tiktokv.com',
  'www.loom.com', 'loom.com', 'cdn.loom.com', '*.loom.com',
  'www.dropbox.com', 'dropbox.com', '*.dl.dropboxusercontent.com', '*.dropboxusercontent.com',
  '*.test-cdn.test',
  'vimeo.com', 'player.vimeo.com',
];
const IPS = ['127.0.0.1', '::1'];
const MIN_REMAINING_MS = 30 * 24 * 3600 * 1000;

function log(msg) {
  process.stderr.write(`make-certs: ${msg}\n`);
}

/** Returns null when the existing set is usable, else the reason it is not. */
function problem(dir) {
  try {
    for (const f of FILES) if (!existsSync(join(dir, f))) return `missing ${f}`;
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
    const leaf = new X509Certificate(readFileSync(join(dir, 'server.pem')));
    const leafKey = createPrivateKey(readFileSync(join(dir, 'server-key.pem')));
    const caKey = createPrivateKey(readFileSync(join(dir, 'ca-key.pem')));
    if (!ca.ca) return 'ca.pem is not a CA';
    if (!ca.checkPrivateKey(caKey)) return 'ca-key.pem does not match';
    if (!leaf.checkPrivateKey(leafKey)) return 'server-key.pem does not match';
    if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return 'server.pem not issued by ca.pem';
    const soon = Date.now() + MIN_REMAINING_MS;
    for (const c of [ca, leaf]) {
      if (new Date(c.validTo).getTime() < soon || new Date(c.validFrom).getTime() > Date.now()) return 'expired or not yet valid';
    }
    const sans = new Set((leaf.subjectAltName ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4)));
    for (const name of DNS_NAMES) if (!sans.has(name)) return `SAN lacks ${name}`;
    for (const ip of IPS) if (leaf.checkIP(ip) === undefined) return `SAN lacks IP ${ip}`;
    if (!/TLS Web Server Authentication|1\.3\.6\.1\.5\.5\.7\.3\.1/.test(leaf.keyUsage?.join(' ') ?? '')) return 'no serverAuth EKU';
    return null;
  } catch (err) {
    return `unreadable (${err instanceof Error ? err.message : String(err)})`;
  }
}

const EC = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 24 * 3600 * 1000;

/** A positive 128-bit serial number, as hex. */
function serialNumber() {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** A fresh P-256 key pair (extractable, to be written out as PKCS#8 PEM). */
const newKeys = () => webcrypto.subtle.generateKey(EC, true, ['sign', 'verify']);
const pkcs8Pem = (privateKey) => KeyObject.from(privateKey).export({ type: 'pkcs8', format: 'pem' });

/**
 * Builds the set with @peculiar/x509 on Node's WebCrypto (no openssl binary needed): a P-256 CA valid 10 years,
 * and a P-256 server certificate it issued for every DNS name and IP above, with serverAuth.
 */
async function generate(tmp) {
  const notBefore = new Date(Date.now() - 60_000);
  const notAfter = new Date(notBefore.getTime() + 3650 * DAY_MS);
  const caKeys = await newKeys();
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(), name: 'CN=media-ingest test CA', notBefore, notAfter, keys: caKeys, signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const serverKeys = await newKeys();
  const server = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(), subject: 'CN=media-ingest test server', issuer: ca.subject, notBefore, notAfter,
    publicKey: serverKeys.publicKey, signingKey: caKeys.privateKey, signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      await x509.SubjectKeyIdentifierExtension.create(serverKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caKeys.publicKey),
      new x509.SubjectAlternativeNameExtension([
        ...DNS_NAMES.map((value) => ({ type: 'dns', value })),
        ...IPS.map((value) => ({ type: 'ip', value })),
      ]),
    ],
  });
  writeFileSync(join(tmp, 'ca.pem'), ca.toString('pem') + '\n');
  writeFileSync(join(tmp, 'ca-key.pem'), pkcs8Pem(caKeys.privateKey), { mode: 0o600 });
  writeFileSync(join(tmp, 'server.pem'), server.toString('pem') + '\n');
  writeFileSync(join(tmp, 'server-key.pem'), pkcs8Pem(serverKeys.privateKey), { mode: 0o600 });
}

const why = problem(CERT_DIR);
if (why === null) {
  log(`certificates in ${CERT_DIR} are up to date`);
} else {
  const parent = dirname(CERT_DIR);
  const tmp = mkdtempSync(join(parent, '.certs-new-'));
  try {
    await generate(tmp);
    const bad = problem(tmp);
    if (bad) throw new Error(`generated certificates are unusable: ${bad}`);
    chmodSync(tmp, 0o755);
    if (existsSync(CERT_DIR) && problem(CERT_DIR) === null) {
      // A concurrent run finished first: keep its set so every reader sees one CA.
      log(`certificates in ${CERT_DIR} were generated concurrently`);
    } else {
      replaceWith(tmp, why);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** Moves a freshly generated set into place with one directory rename. */
function replaceWith(tmp, reason) {
  if (existsSync(CERT_DIR)) {
    const old = `${CERT_DIR}-old-${process.pid}-${Date.now()}`;
    try {
      renameSync(CERT_DIR, old);
      rmSync(old, { recursive: true, force: true });
    } catch { /* a concurrent run moved it already */ }
  }
  try {
    renameSync(tmp, CERT_DIR);
    log(`generated test CA and server certificate in ${CERT_DIR} (${reason})`);
  } catch (err) {
    // A concurrent run put its own set in place first; use it if it is sound.
    if (problem(CERT_DIR) !== null) throw err;
    log(`certificates in ${CERT_DIR} were generated concurrently`);
  }
}
