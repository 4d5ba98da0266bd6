"""A ZeroMQ peer written for tests: ZMTP 3.0 (RFC 23) with the CURVE
security mechanism (RFC 26), by hand over a plain TCP socket, with
libsodium (and libzmq's Z85 decoder) through ctypes.

libzmq itself cannot be made to misbehave in some ways that a hostile
peer can: for one, it sends nothing of a message until its last frame is
written (its pipe flushes whole messages), so a message that never ends
stays in the sender. This peer sends what it is told, frame by frame, as an
authenticated agent would on the wire.

    peer = CurvePeer('127.0.0.1', port, hub_key_z85, public_z85, secret_z85)
    peer.handshake()            # greeting, HELLO, WELCOME, INITIATE, READY
    peer.send_frame(b'...', more=True)
    data, more = peer.recv_frame(timeout=5)
"""
import ctypes
import ctypes.util
import os
import socket
import struct

_sodium = ctypes.CDLL(ctypes.util.find_library('sodium') or 'libsodium.so.23')
_zmq = ctypes.CDLL(ctypes.util.find_library('zmq') or 'libzmq.so.5')
if _sodium.sodium_init() < 0:
    raise OSError('libsodium does not initialize')
_zmq.zmq_z85_decode.restype = ctypes.c_void_p
_zmq.zmq_z85_decode.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
for name in ('crypto_box_easy', 'crypto_box_open_easy'):
    getattr(_sodium, name).argtypes = [
        ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong,
        ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p]

MAC = 16


class ZmtpError(Exception):
    pass


def z85_decode(text):
    """32 bytes of a 40-character Z85 key."""
    out = ctypes.create_string_buffer(32)
    if not _zmq.zmq_z85_decode(out, text.encode('ascii')):
        raise ValueError('not a Z85 key: %r' % text)
    return out.raw


def keypair():
    pk = ctypes.create_string_buffer(32)
    sk = ctypes.create_string_buffer(32)
    _sodium.crypto_box_keypair(pk, sk)
    return pk.raw, sk.raw


def box(plain, nonce, pk, sk):
    out = ctypes.create_string_buffer(len(plain) + MAC)
    if _sodium.crypto_box_easy(out, plain, len(plain), nonce, pk, sk) != 0:
        raise ZmtpError('crypto_box failed')
    return out.raw


def unbox(sealed, nonce, pk, sk):
    if len(sealed) < MAC:
        raise ZmtpError('box too short')
    out = ctypes.create_string_buffer(len(sealed) - MAC)
    if _sodium.crypto_box_open_easy(out, sealed, len(sealed), nonce, pk,
                                    sk) != 0:
        raise ZmtpError('box does not open (wrong key or nonce)')
    return out.raw


def _property(name, value):
    return (bytes([len(name)]) + name + struct.pack('>I', len(value)) +
            value)


class CurvePeer:

    def __init__(self, host, port, server_key, public, secret,
                 socket_type=b'DEALER'):
        self.addr = (host, port)
        self.server = z85_decode(server_key)        # S
        self.public = z85_decode(public)            # C
        self.secret = z85_decode(secret)
        self.tpublic, self.tsecret = keypair()      # C'
        self.socket_type = socket_type
        self.nonce = 0                              # our short nonce
        self.sock = None

    # -- the wire ----------------------------------------------------------

    def _send(self, data):
        self.sock.sendall(data)

    def _recv_exact(self, n):
        buf = b''
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ZmtpError('the peer closed the connection')
            buf += chunk
        return buf

    def _frame(self, body, command=False, more=False):
        flags = (0x04 if command else 0) | (0x01 if more else 0)
        if len(body) > 255:
            return bytes([flags | 0x02]) + struct.pack('>Q', len(body)) + body
        return bytes([flags, len(body)]) + body

    def _read_frame(self):
        flags = self._recv_exact(1)[0]
        if flags & 0x02:
            size = struct.unpack('>Q', self._recv_exact(8))[0]
        else:
            size = self._recv_exact(1)[0]
        if size > 64 * 1024 * 1024:
            raise ZmtpError('frame of %d bytes' % size)
        return flags, self._recv_exact(size)

    def _command(self, name):
        flags, body = self._read_frame()
        if not flags & 0x04:
            raise ZmtpError('expected a command, got a message frame')
        got = body[1:1 + body[0]]
        if got == b'ERROR':
            raise ZmtpError('the peer refused: %r' % body[7:7 + body[6]])
        if got != name:
            raise ZmtpError('expected %r, got %r' % (name, got))
        return body[1 + body[0]:]

    def _short_nonce(self):
        self.nonce += 1
        return struct.pack('>Q', self.nonce)

    # -- the handshake -----------------------------------------------------

    def handshake(self, timeout=10):
        self.sock = socket.create_connection(self.addr, timeout=timeout)
        greeting = (b'\xff' + b'\x00' * 8 + b'\x7f' + b'\x03\x00' +
                    b'CURVE'.ljust(20, b'\x00') + b'\x00' + b'\x00' * 31)
        self._send(greeting)
        theirs = self._recv_exact(64)
        if theirs[0] != 0xff or theirs[9] != 0x7f or theirs[10] != 3:
            raise ZmtpError('not a ZMTP 3 greeting: %r' % theirs[:12])
        if theirs[12:17] != b'CURVE':
            raise ZmtpError('the peer speaks %r' % theirs[12:32])
        # HELLO: C', Box[64 zeros](C'->S)
        short = self._short_nonce()
        hello = (b'\x05HELLO' + b'\x01\x00' + b'\x00' * 72 + self.tpublic +
                 short + box(b'\x00' * 64, b'CurveZMQHELLO---' + short,
                             self.server, self.tsecret))
        self._send(self._frame(hello, command=True))
        # WELCOME: Box[S' + cookie](S->C')
        data = self._command(b'WELCOME')
        plain = unbox(data[16:], b'WELCOME-' + data[:16], self.server,
                      self.tsecret)
        self.tserver, cookie = plain[:32], plain[32:]
        # INITIATE: cookie, Box[C + vouch + metadata](C'->S')
        vouch_nonce = os.urandom(16)
        vouch = vouch_nonce + box(self.tpublic + self.server,
                                  b'VOUCH---' + vouch_nonce, self.tserver,
                                  self.secret)
        metadata = _property(b'Socket-Type', self.socket_type)
        if self.socket_type in (b'DEALER', b'REQ', b'ROUTER'):
            metadata += _property(b'Identity', b'')
        short = self._short_nonce()
        initiate = (b'\x08INITIATE' + cookie + short +
                    box(self.public + vouch + metadata,
                        b'CurveZMQINITIATE' + short, self.tserver,
                        self.tsecret))
        self._send(self._frame(initiate, command=True))
        # READY: Box[metadata](S'->C')
        data = self._command(b'READY')
        unbox(data[8:], b'CurveZMQREADY---' + data[:8], self.tserver,
              self.tsecret)

    # -- messages ----------------------------------------------------------

    def send_frame(self, content, more=False):
        short = self._short_nonce()
        sealed = box(bytes([0x01 if more else 0x00]) + content,
                     b'CurveZMQMESSAGEC' + short, self.tserver, self.tsecret)
        self._send(self._frame(b'\x07MESSAGE' + short + sealed))

    def recv_frame(self, timeout=10):
        """(content, more) of the next message frame; commands (PING) are
        skipped."""
        self.sock.settimeout(timeout)
        while True:
            flags, body = self._read_frame()
            if body.startswith(b'\x07MESSAGE'):
                short = body[8:16]
                plain = unbox(body[16:], b'CurveZMQMESSAGES' + short,
                              self.tserver, self.tsecret)
                if plain[0] & 0x02:
                    continue        # a command (PING) inside the box
                return plain[1:], bool(plain[0] & 0x01)
            if not flags & 0x04:
                raise ZmtpError('a frame that is no MESSAGE: %r' % body[:16])

    def close(self):
        if self.sock:
            self.sock.close()
            self.sock = None
