/**
 * Containment of yt-dlp. `--proxy` only covers yt-dlp's http(s) requests: a page that redirects to `ftp://…`
 * (urllib's FTP handler), a `rtmp`/`mms` format (external programs), ffmpeg spawned for probing or merging,
 * phantomjs, or a native HTTP library such as curl_cffi all open their own sockets. So yt-dlp never runs as its
 * own executable; its Python module runs under a small bootstrap ({@link YTDLP_BOOTSTRAP}) that, before yt-dlp
 * is even imported:
 *
 * - lets a socket connect to exactly one address, the guarded proxy of this run (TCP 127.0.0.1:<port>, or its
 *   Unix socket in a network namespace), and refuses every other `connect`, `connect_ex`, `sendto`, `sendmsg`
 *   (any family: IPv4, IPv6, Unix, netlink …) with a marked error;
 * - answers no name lookup but the proxy's own address (no DNS query can carry data out);
 * - refuses to start any program (`subprocess`, `os.system`, `os.exec*`, `os.posix_spawn*`, `os.fork`), so
 *   ffmpeg, rtmpdump, phantomjs and other external downloaders cannot be reached;
 * - makes native network modules (curl_cffi, pycurl) unimportable, so nothing bypasses Python's sockets.
 *
 * Every protocol yt-dlp can speak then goes through the guarded proxy or fails. Where the kernel allows it
 * (root, or unprivileged user namespaces), the process also runs in an empty network namespace (`unshare --net`:
 * no interface at all, loopback down) and reaches the proxy only through a Unix socket in a private directory: a
 * bug that escaped the Python guard would still find no network. The bootstrap is passed with `-c`, the
 * interpreter runs with `-E` (no PYTHON* variables) in a private working directory (nothing planted there can be
 * imported).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readSync } from 'node:fs';

/** Marker of the bootstrap's refusals in yt-dlp's stderr. */
export const SANDBOX_REFUSAL = 'MEDIA_INGEST_SANDBOX_REFUSED';

/**
 * The Python bootstrap. argv: `<proxy port> <proxy unix path or ''> <module path or ''> -- <yt-dlp arguments>`.
 */
export const YTDLP_BOOTSTRAP = String.raw`
import sys, os, errno, socket, subprocess
_port = int(sys.argv[1]); _unix = sys.argv[2]; _extra = sys.argv[3]
_args = sys.argv[sys.argv.index('--') + 1:]
_MARK = '${SANDBOX_REFUSAL}'
def _refuse(what):
    raise PermissionError(errno.EACCES, _MARK + ': ' + what + ' is outside the guarded proxy')
def _allowed(sock, address):
    if sock.family == socket.AF_INET and isinstance(address, tuple) and len(address) == 2:
        return address[0] == '127.0.0.1' and address[1] == _port
    if _unix and sock.family == socket.AF_UNIX:
        return address in (_unix, _unix.encode())
    return False
_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex
def connect(self, address):
    if not _allowed(self, address): _refuse('a connection')
    return _connect(self, address)
def connect_ex(self, address):
    if not _allowed(self, address): _refuse('a connection')
    return _connect_ex(self, address)
def sendto(self, *args): _refuse('a datagram')
def sendmsg(self, *args): _refuse('a datagram')
socket.socket.connect = connect
socket.socket.connect_ex = connect_ex
socket.socket.sendto = sendto
socket.socket.sendmsg = sendmsg
_getaddrinfo = socket.getaddrinfo
def getaddrinfo(host, port, *args, **kwargs):
    if host not in ('127.0.0.1', b'127.0.0.1'):
        raise socket.gaierror(socket.EAI_NONAME, _MARK + ': name lookups are outside the guarded proxy')
    return _getaddrinfo(host, port, *args, **kwargs)
socket.getaddrinfo = getaddrinfo
def _no_lookup(*args, **kwargs):
    raise socket.gaierror(socket.EAI_NONAME, _MARK + ': name lookups are outside the guarded proxy')
def gethostbyname(host):
    if host == '127.0.0.1': return host
    _no_lookup()
socket.gethostbyname = gethostbyname
socket.gethostbyname_ex = _no_lookup
socket.gethostbyaddr = _no_lookup
if _unix:
    # In the network namespace the proxy's TCP address does not exist: its Unix socket stands in for it.
    class _UnixStream(socket.socket):
        def setsockopt(self, level, *args):
            # http.client sets TCP_NODELAY, which a Unix socket does not have.
            if level == socket.IPPROTO_TCP: return None
            return super().setsockopt(level, *args)
    def create_connection(address, timeout=socket._GLOBAL_DEFAULT_TIMEOUT, source_address=None, **kwargs):
        if tuple(address) == ('127.0.0.1', _port):
            sock = _UnixStream(socket.AF_UNIX, socket.SOCK_STREAM)
            if timeout is not socket._GLOBAL_DEFAULT_TIMEOUT: sock.settimeout(timeout)
            sock.connect(_unix)
            return sock
        _refuse('a connection')
    socket.create_connection = create_connection
def _no_program(*args, **kwargs): _refuse('starting a program')
subprocess.Popen._execute_child = _no_program
for _name in ('system', 'popen', 'fork', 'forkpty', 'execv', 'execve', 'execl', 'execle', 'execlp', 'execlpe', 'execvp', 'execvpe', 'posix_spawn', 'posix_spawnp', 'spawnv', 'spawnve', 'spawnl', 'spawnle', 'spawnlp', 'spawnlpe', 'spawnvp', 'spawnvpe'):
    if hasattr(os, _name): setattr(os, _name, _no_program)
for _name in ('curl_cffi', 'pycurl'):
    sys.modules[_name] = None
if _extra: sys.path.insert(0, _extra)
from yt_dlp import main
sys.argv = ['yt-dlp'] + _args
sys.exit(main())
`;

/** How yt-dlp is started: its Python interpreter and, for a zipapp, the archive to import the module from. */
export interface YtDlpLaunch {
  python: string;
  /** A zipapp binary itself (its archive holds the `yt_dlp` package), or '' for an installed module. */
  modulePath: string;
}

/**
 * Reads how to run the yt-dlp executable's module under the bootstrap: the interpreter from its `#!` line
 * (`/usr/bin/python3` for Debian's package and pip's scripts, `env python3` resolved on PATH, a zipapp's own).
 * Undefined when the binary is not a Python script or zipapp (e.g. a PyInstaller build): such a binary cannot be
 * contained and is not run.
 */
export function ytDlpLaunch(binary: string, env: NodeJS.ProcessEnv = process.env): YtDlpLaunch | undefined {
  let head: Buffer;
  try {
    const fd = openSync(binary, 'r');
    try {
      head = Buffer.alloc(256);
      head = head.subarray(0, readSync(fd, head, 0, head.length, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
  const firstLine = head.toString('latin1').split('\n')[0] ?? '';
  if (!firstLine.startsWith('#!')) return undefined;
  const words = firstLine.slice(2).trim().split(/\s+/);
  let python = words[0] ?? '';
  if (/\/env$/.test(python)) python = findOnPath(words[1] ?? '', env) ?? '';
  if (!/python[0-9.]*$/.test(python)) return undefined;
  // A zipapp is a shebang line followed by a zip archive: the interpreter imports the package from the file itself.
  const isZip = head.includes(Buffer.from('PK\x03\x04', 'latin1'));
  return { python, modulePath: isZip ? binary : '' };
}

function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  if (!name) return undefined;
  for (const dir of (env.PATH ?? '').split(':')) {
    if (!dir) continue;
    const candidate = `${dir}/${name}`;
    const probe = spawnSync(candidate, ['-c', 'pass'], { stdio: 'ignore', timeout: 5000 });
    if (probe.status === 0) return candidate;
  }
  return undefined;
}

/** How to enter an empty network namespace here, or undefined when the kernel or privileges do not allow it. */
export type NamespacePrefix = string[] | undefined;

let namespacePrefix: NamespacePrefix | null = null;

/**
 * The command prefix that runs a program in a new, empty network namespace: `unshare --net` as root,
 * `unshare --map-root-user --net` where unprivileged user namespaces are enabled; undefined otherwise (probed once).
 */
export function networkNamespacePrefix(): NamespacePrefix {
  if (namespacePrefix !== null) return namespacePrefix;
  namespacePrefix = undefined;
  for (const prefix of [['unshare', '--net', '--'], ['unshare', '--map-root-user', '--net', '--']]) {
    const probe = spawnSync(prefix[0]!, [...prefix.slice(1), 'true'], { stdio: 'ignore', timeout: 5000 });
    if (probe.status === 0) {
      namespacePrefix = prefix;
      break;
    }
  }
  return namespacePrefix;
}
