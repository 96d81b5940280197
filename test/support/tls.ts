/**
 * A throwaway certificate authority and a server certificate for 127.0.0.1/localhost, made with openssl, so TLS
 * tests need no `--insecure` flags: clients are told to trust the CA instead.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { run } from './commands.ts';

/** Files of a generated CA and server certificate. */
export interface TestCertificates {
  caCert: string;
  serverCert: string;
  serverKey: string;
}

/** Generates a CA and a server certificate (SAN 127.0.0.1 and localhost) into `dir`. */
export async function makeCertificates(dir: string): Promise<TestCertificates> {
  fs.mkdirSync(dir, { recursive: true });
  const f = (name: string) => path.join(dir, name);
  const openssl = async (...args: string[]) => {
    const result = await run(['openssl', ...args], { cwd: dir, timeoutMs: 30_000 });
    if (result.code !== 0) throw new Error(`openssl ${args[0]} failed: ${result.stderr}`);
  };
  await openssl('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '2', '-subj', '/CN=Marina Test CA', '-keyout', f('ca.key'), '-out', f('ca.crt'), '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign');
  await openssl('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', f('server.key'), '-out', f('server.csr'));
  fs.writeFileSync(f('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n');
  await openssl('x509', '-req', '-in', f('server.csr'), '-CA', f('ca.crt'), '-CAkey', f('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', f('server.ext'), '-out', f('server.crt'));
  return { caCert: f('ca.crt'), serverCert: f('server.crt'), serverKey: f('server.key') };
}
