# Switches where the interpreter has work left after an app call: inside
# __add__ whose NotImplemented hands over to __radd__, inside a map consumed
# by list() and sorted(), inside __init__ and inside a class body.
import stackless


class Money:
    def __init__(self, cents):
        stackless.schedule()
        self.cents = cents

    def __add__(self, other):
        stackless.schedule()
        if isinstance(other, Money):
            return Money(self.cents + other.cents)
        return NotImplemented

    def __radd__(self, other):
        stackless.schedule()
        return Money(self.cents + other)


class Tag:
    def __init__(self, name):
        self.name = name

    def __add__(self, other):
        stackless.schedule()
        return NotImplemented


def slow_square(x):
    stackless.schedule()
    return x * x


def worker(name):
    total = Money(5) + Money(7)
    total = 3 + total
    squares = list(map(slow_square, [1, 2, 3]))
    ordered = sorted(map(slow_square, [3, 1, 2]))
    print(name, total.cents, squares, ordered)
    try:
        Tag("t") + Tag("u")
    except TypeError as e:
        print(name, "type error:", e)


def other():
    for i in range(3):
        print("other", i)
        stackless.schedule()


stackless.tasklet(worker)("w")
stackless.tasklet(other)()
stackless.run()
