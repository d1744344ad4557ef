# Tasklets and channels: producer, filter and consumer pipelines,
# getcurrent, blocking on both sides, a deadlock reported to main.
import stackless


def producer(out, n):
    for i in range(n):
        out.send(i)
    out.send(None)


def squarer(inp, out):
    while True:
        value = inp.receive()
        if value is None:
            out.send(None)
            return
        out.send(value * value)


def consumer(inp, results):
    me = stackless.getcurrent()
    while True:
        value = inp.receive()
        if value is None:
            break
        results.append(value)
    results.append(me is stackless.getcurrent())


def pinger(ch, name, n):
    for i in range(n):
        ch.send(name + str(i))
        stackless.schedule()


a = stackless.channel()
b = stackless.channel()
results = []
stackless.tasklet(consumer)(b, results)
stackless.tasklet(squarer)(a, b)
stackless.tasklet(producer)(a, 5)
stackless.run()
print(results)
ping = stackless.channel()
stackless.tasklet(pinger)(ping, "x", 3)
stackless.tasklet(pinger)(ping, "y", 2)
got = []
while len(got) < 5:
    got.append(ping.receive())
print(got, ping.balance)
try:
    ping.receive()
except RuntimeError as e:
    print("main:", e)
print("balance after deadlock", ping.balance)
