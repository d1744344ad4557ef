# Exceptions: try/except/else/finally, custom classes, re-raise, finally on
# return and break, an exception that ends a tasklet reaching main.
import stackless


class AppError(Exception):
    pass


class DetailedError(AppError):
    def __init__(self, code, text):
        super().__init__(text)
        self.code = code


def risky(n):
    if n == 0:
        raise ValueError("zero")
    if n == 1:
        raise DetailedError(7, "one")
    return 10 // (n - 2)


def guarded(n):
    try:
        result = risky(n)
    except ValueError as e:
        return "value error: " + str(e)
    except AppError as e:
        return "app error " + str(e.code) + ": " + str(e.args[0])
    except ZeroDivisionError:
        return "divided by zero"
    else:
        return "ok " + str(result)
    finally:
        print("finally for", n)


def find(items, target):
    for i in range(len(items)):
        try:
            if items[i] == target:
                break
        finally:
            print("checked", i)
    return i


def reraiser():
    try:
        risky(0)
    except ValueError:
        print("cleaning up")
        raise


def failing_worker(ch):
    ch.receive()
    stackless.schedule()
    raise KeyError("lost")


for n in range(4):
    print(guarded(n))
print(find([5, 6, 7], 6))
try:
    reraiser()
except ValueError as e:
    print("re-raised", e)
try:
    {}["missing"]
except KeyError as e:
    print("key error", e)
ch = stackless.channel()
stackless.tasklet(failing_worker)(ch)
try:
    ch.send("go")
    stackless.run()
except KeyError as e:
    print("main caught", e)
try:
    undefined_name
except NameError as e:
    print(e)
