# An exception that nothing catches ends the program with a traceback, after
# a tasklet has switched a few times.
import stackless


def inner(x):
    return 10 // x


def outer(x):
    print("dividing by", x)
    return inner(x)


def chatter(n):
    for i in range(n):
        print("chatter", i)
        stackless.schedule()


stackless.tasklet(chatter)(3)
stackless.schedule()
print(outer(5))
stackless.schedule()
print(outer(0))
print("not reached")
