# Drives `oscore-lab serve` with the hostile load of docs/benchmarks.md,
# "Memory under hostile load", and prints its resident memory after each part.
# Usage: go build -o /tmp/ol ./cmd/oscore-lab && python3 docs/tools/hostile_load.py
import socket, json, subprocess, time, urllib.request, base64, os, struct, sys

def hwm(pid):
    for l in open(f"/proc/{pid}/status"):
        if l.startswith(("VmHWM","VmRSS")): print("   ", l.strip())

p = subprocess.Popen(["/tmp/ol","serve","-addr","127.0.0.1:18080"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
time.sleep(1.5)
assert p.poll() is None, p.stdout.read()
base="http://127.0.0.1:18080"
def req(method, path, body=None):
    r = urllib.request.Request(base+path, method=method, data=body, headers={"Content-Type":"application/json"})
    try:
        with urllib.request.urlopen(r, timeout=60) as f: return f.status, f.read()
    except urllib.error.HTTPError as e: return e.code, e.read()
print("start"); hwm(p.pid)
st = json.loads(req("GET","/api/scenario")[1])
step = dict(st["steps"][0]); 
for k in ("token","mid","hop_tokens","hop_mids","expect"): step.pop(k,None)
print("send", req("POST","/api/send",json.dumps(step).encode())[0])
nodes = json.loads(req("GET","/api/nodes")[1])
links = json.loads(req("GET","/api/state")[1])["links"]
print("links", [(l["id"], l["addr_a"], l["addr_b"]) for l in links][:3])
s_addr = [n for n in nodes if n["ID"]=="S"][0]["Addr"]
# 1. 20,000 datagrams of 60 KB to a link port and to S directly (a valid CON POST /echo)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1<<22)
la = links[0]["addr_a"].rsplit(":",1); la=(la[0],int(la[1]))
sa = s_addr.rsplit(":",1); sa=(sa[0],int(sa[1]))
big = bytes([0x40,0x02,0,0]) + b"\xb4echo" + b"\xff" + b"x"*60000
t=time.time()
for i in range(20000):
    mid = i & 0xffff
    d = bytes([0x40,0x02,mid>>8,mid&255]) + big[4:]
    for a in (la, sa):
        try: u.sendto(d, a)
        except OSError: pass
    if i % 2000 == 0: time.sleep(0.05)
print("datagrams sent in %.1fs" % (time.time()-t)); time.sleep(3); hwm(p.pid)
# 2. 200 WebSocket clients that never read
socks=[]; codes={}
for i in range(200):
    c = socket.create_connection(("127.0.0.1",18080))
    key = base64.b64encode(os.urandom(16)).decode()
    c.sendall(("GET /ws HTTP/1.1\r\nHost: 127.0.0.1:18080\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % key).encode())
    c.settimeout(5)
    line = c.recv(64).split(b"\r\n")[0]
    codes[line]=codes.get(line,0)+1
    c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    socks.append(c)
print("ws", codes); time.sleep(3); hwm(p.pid)
# 3. 10,000 proxies chained by upstream
nodes=[{"id":"C","role":"client"}]+[{"id":"P%d"%i,"role":"proxy","forward":True,"upstream":"P%d"%(i+1)} for i in range(9999)]+[{"id":"P9999","role":"proxy","forward":True},{"id":"S","role":"server","authority":"example.com"}]
sc={"name":"chain","nodes":nodes,"steps":[{"from":"C","method":"GET","uri":"coap://example.com/hello","route":["P0"]}]}
body=json.dumps(sc).encode(); print("chain file", len(body))
t=time.time(); r=req("PUT","/api/scenario",body); print("chain", r[0], r[1][:160], "%.2fs"%(time.time()-t)); hwm(p.pid)
print("still serving", req("POST","/api/send",json.dumps(step).encode())[0])
for c in socks: c.close()
p.terminate(); p.wait()
