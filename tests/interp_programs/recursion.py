# Recursion 100,000 app frames deep, with switches at the bottom.
import stackless


def down(n, ch):
    if n == 0:
        ch.send("bottom reached")
        stackless.schedule()
        return 0
    return down(n - 1, ch) + 1


def total(xs, i):
    if i == len(xs):
        return 0
    return xs[i] + total(xs, i + 1)


def listener(ch):
    print("listener got:", ch.receive())


print("sum:", total(list(range(100000)), 0))
ch = stackless.channel()
stackless.tasklet(listener)(ch)
stackless.tasklet(down)(100000, ch)
stackless.run()
print("depth function:", down.__name__)
