#!/usr/bin/env python3
"""Drive aiocoap's Group OSCORE (aiocoap.oscore.SimpleGroupContext) against
the lab, for TestAiocoapGroupInterop. Not part of the lab: it runs only when
AIOCOAP_SRC names an aiocoap checkout.

Reads one JSON object on stdin:
  role       "client" or "server"
  gid, secret, salt, gm_cred, sender_id, seed, cred   hex
  peers      {kid hex: credential hex}
  client: target "host:port", path, token hex, wait seconds
  server, site: resources {path: text}

The client protects one GET in group mode, sends it as one NON datagram to
target and prints one JSON line per datagram that came back: the member's
kid, source, code and payload once verified, or why aiocoap refused it. The
server prints {"listening": port}, then answers each group-mode request with
a group-mode response made with the group context (aiocoap's own server
answers in pairwise mode, which needs ge25519 for Ed25519 groups) and
prints one JSON line per request. The site role runs aiocoap's own server
stack (Context, OscoreSiteWrapper), which answers a group-mode request in
pairwise mode; for that it needs the Ed25519-to-X25519 public key map,
which aiocoap takes from the PyPI-only ge25519, so this script puts the
birational map of RFC 7748 4.1 in its place, and an import-only lakers
(EDHOC, unused)."""

import json
import socket
import sys
import time

import cbor2  # noqa: F401  (aiocoap.oscore needs it; fail here, clearly)
import aiocoap
import aiocoap.meta
import aiocoap.oscore as oscore
from aiocoap.numbers.codes import Code
from aiocoap.numbers.types import Type


def group_context(cfg):
    h = bytes.fromhex
    return oscore.SimpleGroupContext(
        alg_aead=oscore.algorithms[oscore.DEFAULT_ALGORITHM],
        hashfun=oscore.hashfunctions[oscore.DEFAULT_HASHFUNCTION],
        alg_signature=oscore.Ed25519(),
        alg_group_enc=oscore.algorithms[oscore.DEFAULT_ALGORITHM],
        alg_pairwise_key_agreement=oscore.EcdhSsHkdf256(),
        group_id=h(cfg["gid"]),
        master_secret=h(cfg["secret"]),
        master_salt=h(cfg["salt"]),
        sender_id=h(cfg["sender_id"]),
        private_key=h(cfg["seed"]),
        sender_auth_cred=h(cfg["cred"]),
        peers={h(k): h(v) for k, v in cfg["peers"].items()},
        group_manager_cred=h(cfg["gm_cred"]),
    )


def out(**kw):
    print(json.dumps(kw), flush=True)


def client(cfg, ctx):
    host, port = cfg["target"].rsplit(":", 1)
    req = aiocoap.Message(code=Code.GET, uri_path=tuple(cfg["path"].split("/")))
    prot, request_id = ctx.protect(req)
    prot.mid, prot.mtype, prot.token = 0x4711, Type.NON, bytes.fromhex(cfg["token"])
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.sendto(prot.encode(), (host, int(port)))
    out(sent=prot.encode().hex(), version=aiocoap.meta.version)
    deadline = time.monotonic() + float(cfg["wait"])
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        sock.settimeout(left)
        try:
            data, src = sock.recvfrom(65536)
        except socket.timeout:
            return
        src = "%s:%d" % src
        try:
            msg = aiocoap.Message.decode(data)
            aspect = ctx.context_from_response(oscore.verify_start(msg))
            plain, _ = aspect.unprotect(msg, request_id)
            out(kid=aspect.recipient_id.hex(), source=src, code=str(plain.code), payload=plain.payload.decode("utf-8", "replace"))
        except Exception as e:  # aiocoap's refusal, reported
            out(refused=type(e).__name__ + ": " + str(e), source=src)


def server(cfg, ctx):
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    out(listening=sock.getsockname()[1], version=aiocoap.meta.version)
    mid = 0x2200
    while True:
        data, src = sock.recvfrom(65536)
        try:
            msg = aiocoap.Message.decode(data)
            aspect = ctx.get_oscore_context_for(oscore.verify_start(msg))
            if aspect is None:
                raise ValueError("no context for this request")
            plain, request_id = aspect.unprotect(msg)
            path = "/".join(plain.opt.uri_path)
            text = cfg["resources"].get(path)
            resp = aiocoap.Message(code=Code.CONTENT if text is not None else Code.NOT_FOUND, payload=(text or "").encode())
            # Group mode: the group context signs (RFC 10021 7.3).
            prot, _ = ctx.protect(resp, request_id)
            mid += 1
            prot.mid, prot.mtype, prot.token = mid, Type.NON, msg.token
            sock.sendto(prot.encode(), src)
            out(request=path, kid=aspect.recipient_id.hex(), answered=str(resp.code))
        except Exception as e:
            out(refused=type(e).__name__ + ": " + str(e))


def ed25519_to_x25519(ed):
    """u = (1 + y) / (1 - y) mod 2^255 - 19 (RFC 7748 4.1), for
    aiocoap.util.cryptography_additions.pk_to_curve25519."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import x25519
    raw = ed.public_bytes(encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw)
    p = 2**255 - 19
    y = int.from_bytes(raw, "little") & ((1 << 255) - 1)
    u = (1 + y) * pow((1 - y) % p, p - 2, p) % p
    return x25519.X25519PublicKey.from_public_bytes(u.to_bytes(32, "little"))


def site(cfg, ctx):
    import asyncio
    import types
    lakers = types.ModuleType("lakers")
    lakers.__getattr__ = lambda name: type(name, (), {})
    sys.modules.setdefault("lakers", lakers)
    import aiocoap.credentials
    import aiocoap.oscore_sitewrapper
    import aiocoap.resource as resource
    import aiocoap.util.cryptography_additions as ca
    ca.pk_to_curve25519 = ed25519_to_x25519

    class Text(resource.Resource):
        def __init__(self, path, text):
            super().__init__()
            self.path, self.text = path, text

        async def render_get(self, request):
            out(request=self.path, remote=str(request.remote))
            return aiocoap.Message(payload=self.text.encode())

    async def run():
        root = resource.Site()
        for path, text in cfg["resources"].items():
            root.add_resource(path.split("/"), Text(path, text))
        creds = aiocoap.credentials.CredentialsMap()
        creds[":a"] = ctx
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        await aiocoap.Context.create_server_context(aiocoap.oscore_sitewrapper.OscoreSiteWrapper(root, creds), bind=("127.0.0.1", port))
        out(listening=port, version=aiocoap.meta.version)
        await asyncio.Event().wait()

    asyncio.run(run())


def main():
    cfg = json.load(sys.stdin)
    ctx = group_context(cfg)
    {"client": client, "server": server, "site": site}[cfg["role"]](cfg, ctx)


if __name__ == "__main__":
    main()
