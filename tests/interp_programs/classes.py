# Classes: single inheritance, __init__, super(), operator methods, a switch
# inside __init__ (a special record) and inside ordinary methods.
import stackless


class Vector:
    def __init__(self, x, y):
        self.x = x
        self.y = y

    def __add__(self, other):
        return Vector(self.x + other.x, self.y + other.y)

    def __mul__(self, k):
        return Vector(self.x * k, self.y * k)

    def __rmul__(self, k):
        return self * k

    def __eq__(self, other):
        return isinstance(other, Vector) and self.x == other.x and self.y == other.y

    def __lt__(self, other):
        return (self.x, self.y) < (other.x, other.y)

    def __repr__(self):
        return "Vector(" + str(self.x) + ", " + str(self.y) + ")"


class Shape:
    count = 0

    def __init__(self, name):
        self.name = name
        Shape.count += 1

    def area(self):
        return 0

    def describe(self):
        return self.name + " with area " + str(self.area())


class Square(Shape):
    def __init__(self, side):
        super().__init__("square")
        self.side = side

    def area(self):
        return self.side * self.side


class Slow(Shape):
    def __init__(self, name, delay):
        Shape.__init__(self, name)
        for i in range(delay):
            stackless.schedule()
        self.ready = True


class Bag:
    def __init__(self):
        self.items = []

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        return self.items[i]

    def add(self, item):
        self.items.append(item)
        stackless.schedule()
        return self


def builder(name, delay, out):
    s = Slow(name, delay)
    out.append(s.name + " ready " + str(s.ready))


v = Vector(1, 2) + Vector(3, 4)
print(v, v == Vector(4, 6), v != Vector(0, 0), 2 * v, v * 3)
print(sorted([Vector(3, 1), Vector(1, 2), Vector(1, 1)]))
print(Square(3).describe(), Shape("blob").describe(), Shape.count)
print(isinstance(Square(2), Shape), isinstance(v, Shape))
out = []
stackless.tasklet(builder)("first", 2, out)
stackless.tasklet(builder)("second", 1, out)
bag = Bag()
bag.add(1).add(2).add(3)
stackless.run()
print(out, len(bag), bag[1], Shape.count)
