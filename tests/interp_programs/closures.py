# Closures, lambdas, defaults, nonlocal, builtins taking app functions.
import stackless


def make_counter(start=0, step=1):
    count = start

    def increment():
        nonlocal count
        count += step
        return count
    return increment


def compose(f, g):
    return lambda x: f(g(x))


def adder(n):
    def add(x):
        return x + n
    return add


def ticker(name, counter, times):
    for i in range(times):
        print(name, counter())
        stackless.schedule()


c = make_counter(10, 5)
print(c(), c(), make_counter()())
inc_then_double = compose(lambda x: x * 2, adder(1))
print(inc_then_double(5), list(map(adder(3), [1, 2, 3])))
print(sorted(["pear", "fig", "banana"], key=len), min([3, 1, 2]), max([3, 1, 2]))
print(sum(map(lambda x: x * x, range(5))), abs(-7), sorted([5, 2, 9], reverse=True))
pairs = {}
for key, value in [("a", 1), ("b", 2)]:
    pairs[key] = value
a, b = 1, 2
a, b = b, a
print(pairs, a, b, dict(x=1), str(3) + "!", int("12") + 1, float(2))
shared = make_counter(100)
stackless.tasklet(ticker)("left", shared, 3)
stackless.tasklet(ticker)("right", shared, 2)
stackless.run()
print("final", shared())
