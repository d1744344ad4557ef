"""The evaluation loop and the helpers it calls, written in stacklessxf's
subset and compiled by it.

``run_frame`` runs one app frame; an app call goes ``run_frame`` ->
``call_value`` (dispatch on the callee) -> ``call_function`` (argument
decoding and frame creation, in plain helpers) -> ``run_frame`` of the new
frame.  The helpers return what the call returns, so the analysis finds
them tail calls: at a switch, the only records left are the evaluation
loop's, one per app frame, and those of the *special* helpers (class call,
reflected operators, builtins consuming a ``map``, class bodies), each of
which keeps its state in a :class:`~interp.objects.Special` entry of the app
chain.

Method calls on the interpreter's own lists (``stack.append``) would be
calls of unknown callees to the transform, each a resume point with a test
for a switch; the module-level aliases ``push`` and ``pop`` are builtins it
recognizes as plain.
"""

import operator

from stacklessxf import stackless

from . import code as ops
from .objects import (BUILTINS, EMPTY, EXHAUSTED, AppException, AppMap, AppModule, Builtin,
                      BuiltinMethod,
                      Cell, Class, ClassBody, Collecting, Frame, Function, InitCheck, Instance,
                      Method, ReflectedOperator, Super)

push = list.append
pop = list.pop

PYTHON_BINARY = {"add": operator.add, "sub": operator.sub, "mul": operator.mul,
                 "truediv": operator.truediv, "floordiv": operator.floordiv,
                 "mod": operator.mod, "pow": operator.pow, "and": operator.and_,
                 "or": operator.or_, "xor": operator.xor, "lshift": operator.lshift,
                 "rshift": operator.rshift}
PYTHON_INPLACE = {"add": operator.iadd, "sub": operator.isub, "mul": operator.imul,
                  "truediv": operator.itruediv, "floordiv": operator.ifloordiv,
                  "mod": operator.imod, "pow": operator.ipow, "and": operator.iand,
                  "or": operator.ior, "xor": operator.ixor, "lshift": operator.ilshift,
                  "rshift": operator.irshift}
PYTHON_COMPARE = {"eq": operator.eq, "ne": operator.ne, "lt": operator.lt, "le": operator.le,
                  "gt": operator.gt, "ge": operator.ge}
REFLECTED_COMPARE = {"eq": "eq", "ne": "ne", "lt": "gt", "le": "ge", "gt": "lt", "ge": "le"}
PYTHON_UNARY = {"neg": operator.neg, "pos": operator.pos, "invert": operator.invert}
COMPARE_SYMBOLS = {"eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="}
BINARY_SYMBOLS = {"add": "+", "sub": "-", "mul": "*", "truediv": "/", "floordiv": "//",
                  "mod": "%", "pow": "** or pow()", "and": "&", "or": "|", "xor": "^",
                  "lshift": "<<", "rshift": ">>"}


# -- plain helpers: they call no app code ----------------------------------

def python_binary(name, left, right):
    return PYTHON_BINARY[name](left, right)


def python_inplace(name, left, right):
    return PYTHON_INPLACE[name](left, right)


def python_compare(name, left, right):
    return PYTHON_COMPARE[name](left, right)


def type_name(value):
    if type(value) is Instance:
        return value.cls.name
    if type(value) is Function or type(value) is Method:
        return "function"
    if type(value) is Class:
        return "type"
    return type(value).__name__


def unsupported_operands(symbol, left, right):
    return TypeError(f"unsupported operand type(s) for {symbol}: '{type_name(left)}' and "
                     f"'{type_name(right)}'")


def decode_args(func, args, kwargs):
    """The locals of a new frame of ``func`` called with ``args`` and
    ``kwargs``, as CPython binds them (with its error messages)."""
    code = func.code
    count = code.argcount
    given = len(args)
    if given > count:
        raise TypeError(f"{code.name}() takes {count} positional argument"
                        f"{'' if count == 1 else 's'} but {given} "
                        f"{'was' if given == 1 else 'were'} given")
    locals_ = list(args)
    locals_.extend([EMPTY] * (len(code.varnames) - given))
    if kwargs:
        for name, value in kwargs.items():
            index = code.varnames.index(name) if name in code.varnames[:count] else -1
            if index < 0:
                raise TypeError(f"{code.name}() got an unexpected keyword argument '{name}'")
            if locals_[index] is not EMPTY:
                raise TypeError(f"{code.name}() got multiple values for argument '{name}'")
            locals_[index] = value
    if given < count:
        defaults = func.defaults
        first_default = count - len(defaults)
        missing = []
        for index in range(given, count):
            if locals_[index] is EMPTY:
                if index >= first_default:
                    locals_[index] = defaults[index - first_default]
                else:
                    missing.append(code.varnames[index])
        if missing:
            names = " and ".join(f"'{name}'" for name in missing) if len(missing) <= 2 else \
                ", ".join(f"'{name}'" for name in missing[:-1]) + f", and '{missing[-1]}'"
            raise TypeError(f"{code.name}() missing {len(missing)} required positional "
                            f"argument{'' if len(missing) == 1 else 's'}: {names}")
    return locals_


def make_frame(func, args, kwargs, caller):
    code = func.code
    locals_ = decode_args(func, args, kwargs)
    cells = None
    if code.cellvars or code.freevars:
        cells = [Cell() for _ in code.cellvars]
        for cell_index, local_index in code.cell_args:
            cells[cell_index].value = locals_[local_index]
        cells.extend(func.closure)
    return Frame(code, func, func.globals, None, locals_, cells, caller)


def load_global(frame, name):
    value = frame.globals.get(name, EMPTY)
    if value is EMPTY:
        value = BUILTINS.get(name, EMPTY)
        if value is EMPTY:
            raise NameError(f"name '{name}' is not defined")
    return value


def load_name(frame, name):
    value = frame.namespace.get(name, EMPTY)
    if value is EMPTY:
        return load_global(frame, name)
    return value


def get_attribute(obj, name):
    kind = type(obj)
    if kind is Instance:
        value = obj.attrs.get(name, EMPTY)
        if value is not EMPTY:
            return value
        value = obj.cls.lookup(name)
        if value is not None:
            return Method(value, obj) if type(value) is Function else value
        if name == "args" and obj.cls.builtin_base() is not None:
            return obj.args
        raise AttributeError(f"'{obj.cls.name}' object has no attribute '{name}'")
    if kind is Class:
        value = obj.lookup(name)
        if value is None:
            if name == "__name__":
                return obj.name
            raise AttributeError(f"type object '{obj.name}' has no attribute '{name}'")
        return value
    if kind is Super:
        base = obj.cls.base
        if type(base) is Class:
            value = base.lookup(name)
            if value is not None:
                return Method(value, obj.obj) if type(value) is Function else value
        if name == "__init__":
            return Builtin("object.__init__", exception_init_of(obj.obj))
        raise AttributeError(f"'super' object has no attribute '{name}'")
    if kind is Function and name == "__name__":
        return obj.name
    if kind is AppModule:
        value = obj.dict.get(name, EMPTY)
        if value is EMPTY:
            raise AttributeError(f"module '{obj.name}' has no attribute '{name}'")
        return value
    methods = getattr(kind, "app_methods", None)
    if methods is not None and name in methods:
        return BuiltinMethod(methods[name], obj)
    return getattr(obj, name)


def exception_init_of(obj):
    def init(args, kwargs, caller):
        obj.args = tuple(args)
    return init


def set_attribute(obj, name, value):
    kind = type(obj)
    if kind is Instance:
        obj.attrs[name] = value
    elif kind is Class:
        obj.dict[name] = value
    else:
        setattr(obj, name, value)


def is_instance(value, classinfo):
    if type(classinfo) is tuple:
        for one in classinfo:
            if is_instance(value, one):
                return True
        return False
    if type(classinfo) is Builtin and classinfo.python_type is not None:
        classinfo = classinfo.python_type
    if type(value) is Instance:
        return value.cls.is_subclass(classinfo)
    if type(classinfo) is Class:
        return False
    return isinstance(value, classinfo)


def app_exception(value):
    """The Python exception that carries the app's exception ``value``."""
    if isinstance(value, BaseException):
        return value
    if type(value) is Instance and value.cls.builtin_base() is not None and \
            issubclass(value.cls.builtin_base(), BaseException):
        return AppException(value)
    raise TypeError("exceptions must derive from BaseException")


def app_value(error):
    """What the app sees of a Python exception that reached its code."""
    if type(error) is AppException:
        return error.instance
    return error


def app_traceback(error):
    """The app traceback entries of ``error``, innermost first."""
    holder = error.instance if type(error) is AppException else error
    entries = holder.traceback if type(holder) is Instance else getattr(holder, "app_tb", None)
    if entries is None:
        entries = []
        if type(holder) is Instance:
            holder.traceback = entries
        else:
            try:
                holder.app_tb = entries
            except AttributeError:
                pass
    return entries


def find_handler(frame, error, index):
    """Where ``frame`` handles ``error`` raised at instruction ``index``: the
    handler's instruction index, or -1 after noting the frame in the app
    traceback."""
    code = frame.code
    handler = code.handler_at[index] if 0 <= index < len(code.handler_at) else -1
    if handler < 0 or is_interp_signal(error):
        push(app_traceback(error), (code.filename, code.line_at(index), code.name))
        return -1
    target, depth = code.handlers[handler]
    del frame.stack[depth:]
    push(frame.stack, app_value(error))
    frame.tasklet.top = frame
    return target


class ProgramEnded(BaseException):
    """Raised by the module frame's return in the main tasklet: the program
    is over, whatever other tasklets are still runnable."""


def is_interp_signal(error):
    return type(error) is ProgramEnded or type(error).__name__ == "SwitchError"


def make_function(frame, arg, stack):
    code, ndefaults, freevars = arg
    closure = ()
    if freevars:
        closure = tuple(stack[len(stack) - len(freevars):])
        del stack[len(stack) - len(freevars):]
    defaults = ()
    if ndefaults:
        defaults = tuple(stack[len(stack) - ndefaults:])
        del stack[len(stack) - ndefaults:]
    return Function(code, frame.globals, defaults, closure)


def iterate(value):
    if type(value) is AppMap:
        return value
    return iter(value)


def unpack(value, count, stack):
    items = list(value)
    if len(items) != count:
        if len(items) > count:
            raise ValueError(f"too many values to unpack (expected {count})")
        raise ValueError(f"not enough values to unpack (expected {count}, got {len(items)})")
    items.reverse()
    stack.extend(items)


def exception_matches(value, classinfo):
    return is_instance(value, classinfo)


def raise_value(value):
    raise app_exception(value)


def reraise(value):
    raise app_exception(value)


def finish_return(frame, value):
    frame.tasklet.top = frame.back
    if frame.code.kind == "module" and frame.back is frame.tasklet:
        raise ProgramEnded()
    return value


# -- the evaluation loop -------------------------------------------------------

@stackless
def run_frame(frame):
    """Run ``frame`` from its instruction index to its return."""
    frame.tasklet.top = frame
    code = frame.code
    instrs = code.instrs
    stack = frame.stack
    locals_ = frame.locals
    pc = frame.pc
    while True:
        try:
            if frame.error is not None:
                error, frame.error = frame.error, None
                pc += 1
                raise error
            while True:
                op, arg = instrs[pc]
                pc += 1
                if op == ops.LOAD_FAST:
                    value = locals_[arg]
                    if value is EMPTY:
                        raise UnboundLocalError(
                            f"local variable '{code.varnames[arg]}' referenced before "
                            f"assignment")
                    push(stack, value)
                elif op == ops.LOAD_CONST:
                    push(stack, arg)
                elif op == ops.STORE_FAST:
                    locals_[arg] = pop(stack)
                elif op == ops.BINARY:
                    right = pop(stack)
                    left = pop(stack)
                    frame.pc = pc - 1
                    value = binary_op(arg, left, right, frame)
                    push(stack, value)
                elif op == ops.COMPARE:
                    right = pop(stack)
                    left = pop(stack)
                    frame.pc = pc - 1
                    value = compare_op(arg, left, right, frame)
                    push(stack, value)
                elif op == ops.POP_JUMP_IF_FALSE:
                    if not pop(stack):
                        pc = arg
                elif op == ops.LOAD_GLOBAL:
                    value = load_global(frame, arg)
                    push(stack, value)
                elif op == ops.CALL:
                    args = stack[len(stack) - arg:]
                    del stack[len(stack) - arg:]
                    func = pop(stack)
                    frame.pc = pc - 1
                    value = call_value(func, args, None, frame)
                    push(stack, value)
                elif op == ops.RETURN:
                    value = pop(stack)
                    return finish_return(frame, value)
                elif op == ops.LOAD_ATTR:
                    obj = pop(stack)
                    value = get_attribute(obj, arg)
                    push(stack, value)
                elif op == ops.JUMP:
                    pc = arg
                elif op == ops.FOR_ITER:
                    iterator = stack[-1]
                    if type(iterator) is AppMap:
                        frame.pc = pc - 1
                        value = next_of_map(iterator, frame)
                    else:
                        value = next(iterator, EXHAUSTED)
                    if value is EXHAUSTED:
                        pop(stack)
                        pc = arg
                    else:
                        push(stack, value)
                elif op == ops.POP:
                    pop(stack)
                elif op == ops.LOAD_DEREF:
                    value = frame.cells[arg].value
                    if value is EMPTY:
                        raise NameError(f"free variable '{(code.cellvars + code.freevars)[arg]}'"
                                        f" referenced before assignment in enclosing scope")
                    push(stack, value)
                elif op == ops.STORE_DEREF:
                    frame.cells[arg].value = pop(stack)
                elif op == ops.POP_JUMP_IF_TRUE:
                    if pop(stack):
                        pc = arg
                elif op == ops.SUBSCR:
                    key = pop(stack)
                    container = pop(stack)
                    frame.pc = pc - 1
                    value = get_item(container, key, frame)
                    push(stack, value)
                elif op == ops.STORE_SUBSCR:
                    key = pop(stack)
                    container = pop(stack)
                    value = pop(stack)
                    frame.pc = pc - 1
                    set_item(container, key, value, frame)
                elif op == ops.INPLACE:
                    right = pop(stack)
                    left = pop(stack)
                    frame.pc = pc - 1
                    value = inplace_op(arg, left, right, frame)
                    push(stack, value)
                elif op == ops.STORE_ATTR:
                    obj = pop(stack)
                    value = pop(stack)
                    set_attribute(obj, arg, value)
                elif op == ops.LOAD_NAME:
                    value = load_name(frame, arg)
                    push(stack, value)
                elif op == ops.STORE_NAME:
                    frame.namespace[arg] = pop(stack)
                elif op == ops.STORE_GLOBAL:
                    frame.globals[arg] = pop(stack)
                elif op == ops.CALL_KW:
                    count, names = arg
                    values = stack[len(stack) - len(names):]
                    del stack[len(stack) - len(names):]
                    args = stack[len(stack) - count:]
                    del stack[len(stack) - count:]
                    func = pop(stack)
                    frame.pc = pc - 1
                    kwargs = dict(zip(names, values))
                    value = call_value(func, args, kwargs, frame)
                    push(stack, value)
                elif op == ops.JUMP_IF_FALSE_OR_POP:
                    if not stack[-1]:
                        pc = arg
                    else:
                        pop(stack)
                elif op == ops.JUMP_IF_TRUE_OR_POP:
                    if stack[-1]:
                        pc = arg
                    else:
                        pop(stack)
                elif op == ops.NOT:
                    push(stack, not pop(stack))
                elif op == ops.IS:
                    right = pop(stack)
                    push(stack, pop(stack) is right)
                elif op == ops.IS_NOT:
                    right = pop(stack)
                    push(stack, pop(stack) is not right)
                elif op == ops.CONTAINS:
                    container = pop(stack)
                    push(stack, pop(stack) in container)
                elif op == ops.NOT_CONTAINS:
                    container = pop(stack)
                    push(stack, pop(stack) not in container)
                elif op == ops.UNARY:
                    frame.pc = pc - 1
                    value = pop(stack)
                    value = unary_op(arg, value, frame)
                    push(stack, value)
                elif op == ops.GET_ITER:
                    value = pop(stack)
                    value = iterate(value)
                    push(stack, value)
                elif op == ops.BUILD_LIST:
                    items = stack[len(stack) - arg:]
                    del stack[len(stack) - arg:]
                    push(stack, items)
                elif op == ops.BUILD_TUPLE:
                    items = tuple(stack[len(stack) - arg:])
                    del stack[len(stack) - arg:]
                    push(stack, items)
                elif op == ops.BUILD_DICT:
                    items = stack[len(stack) - 2 * arg:]
                    del stack[len(stack) - 2 * arg:]
                    push(stack, dict(zip(items[::2], items[1::2])))
                elif op == ops.BUILD_SLICE:
                    step = pop(stack)
                    upper = pop(stack)
                    push(stack, slice(pop(stack), upper, step))
                elif op == ops.UNPACK:
                    value = pop(stack)
                    unpack(value, arg, stack)
                elif op == ops.DUP:
                    push(stack, stack[-1])
                elif op == ops.DUP2:
                    push(stack, stack[-2])
                    push(stack, stack[-2])
                elif op == ops.ROT2:
                    stack[-1], stack[-2] = stack[-2], stack[-1]
                elif op == ops.ROT3:
                    stack[-1], stack[-2], stack[-3] = stack[-2], stack[-3], stack[-1]
                elif op == ops.LOAD_CLOSURE:
                    push(stack, frame.cells[arg])
                elif op == ops.MAKE_FUNCTION:
                    value = make_function(frame, arg, stack)
                    push(stack, value)
                elif op == ops.MAKE_CLASS:
                    body, nbases, _ = arg
                    bases = stack[len(stack) - nbases:]
                    del stack[len(stack) - nbases:]
                    frame.pc = pc - 1
                    value = build_class(body, bases, frame)
                    push(stack, value)
                elif op == ops.EXC_MATCH:
                    classinfo = pop(stack)
                    value = pop(stack)
                    value = exception_matches(value, classinfo)
                    push(stack, value)
                elif op == ops.RAISE:
                    value = pop(stack)
                    if type(value) is Class or isinstance(value, type):
                        frame.pc = pc - 1
                        value = call_value(value, [], None, frame)
                    raise_value(value)
                elif op == ops.RERAISE:
                    value = pop(stack)
                    reraise(value)
                elif op == ops.DELETE_FAST:
                    locals_[arg] = EMPTY
                elif op == ops.DELETE_SUBSCR:
                    key = pop(stack)
                    container = pop(stack)
                    del_item(container, key)
                elif op == ops.IMPORT:
                    value = import_module(arg)
                    push(stack, value)
                elif op == ops.SUPER:
                    obj = pop(stack)
                    push(stack, Super(pop(stack), obj))
                else:
                    raise SystemError(f"unknown op {op}")
        except BaseException as error:
            pc = find_handler(frame, error, pc - 1)
            if pc < 0:
                frame.tasklet.top = frame.back
                raise


def del_item(container, key):
    del container[key]


def import_module(name):
    from .objects import MODULES
    return MODULES[name]


# -- calls -----------------------------------------------------------------------

@stackless
def call_value(func, args, kwargs, caller):
    """Call the app value ``func``; return what it returns."""
    kind = type(func)
    if kind is Function:
        return call_function(func, args, kwargs, caller)
    if kind is Method:
        return call_function(func.func, [func.self] + args, kwargs, caller)
    if kind is Builtin:
        return func.fn(args, kwargs, caller)
    if kind is Class:
        return call_class(func, args, kwargs, caller)
    if kind is BuiltinMethod:
        return func.fn(func.obj, args, kwargs, caller)
    # A Python callable: a builtin, a method of a builtin value, or one of
    # the app's stackless module (whose switches pass through this call).
    if kwargs:
        return func(*args, **kwargs)
    return func(*args)


@stackless
def call_function(func, args, kwargs, caller):
    return run_frame(make_frame(func, args, kwargs, caller))


@stackless
def call_class(cls, args, kwargs, caller):
    obj = Instance(cls)
    init = cls.lookup("__init__")
    if init is None:
        return init_builtin_base(obj, args, kwargs)
    entry = InitCheck(caller, obj)
    result = call_function(init, [obj] + args, kwargs, entry)
    return finish_init(entry, result)


def init_builtin_base(obj, args, kwargs):
    base = obj.cls.builtin_base()
    if base is not None and issubclass(base, BaseException):
        obj.args = tuple(args)
    elif args or kwargs:
        raise TypeError(f"{obj.cls.name}() takes no arguments")
    return obj


def finish_init(entry, result):
    entry.tasklet.top = entry.back
    if result is not None:
        raise TypeError(f"__init__() should return None, not '{type_name(result)}'")
    return entry.obj


@stackless
def build_class(body, bases, caller):
    namespace = {}
    if "__class__" in body_cells(body):
        namespace[".class_cell"] = Cell()
    entry = ClassBody(caller, body, bases, namespace)
    frame = Frame(body, None, caller.globals, namespace, None, None, entry)
    result = run_frame(frame)
    return finish_class(entry, result)


def body_cells(body):
    names = set()
    for code in body.program.codes.values() if body.program else ():
        if code.path.startswith(body.path + ".") and "__class__" in code.freevars:
            names.add("__class__")
    return names


def finish_class(entry, result):
    entry.tasklet.top = entry.back
    namespace = entry.namespace
    cell = namespace.pop(".class_cell", None)
    base = entry.bases[0] if entry.bases else None
    if base is object:
        base = None
    if base is not None and type(base) is not Class and \
            not (isinstance(base, type) and issubclass(base, BaseException)):
        raise TypeError(f"class {entry.code.name}: an app class can derive from another app "
                        f"class or from a builtin exception, not from {base!r}")
    cls = Class(entry.code.name, base, namespace, entry.code.path)
    for value in namespace.values():
        if type(value) is Function:
            value.owner = cls
    if cell is not None:
        cell.value = cls
    return cls


def call_nested(func, args):
    """Run an app call from Python's own protocols (``str()`` of an instance,
    ``==`` inside ``list.index``, ...): to its end, where no switch may happen."""
    from .tasklets import current_entry
    return call_value(func, args, None, current_entry())


# -- operators ---------------------------------------------------------------------

@stackless
def binary_op(name, left, right, caller):
    if type(left) is Instance or type(right) is Instance:
        return instance_binary_op(name, left, right, "__" + name + "__", "__r" + name + "__",
                                  caller)
    return python_binary(name, left, right)


@stackless
def inplace_op(name, left, right, caller):
    if type(left) is Instance:
        method = left.cls.lookup("__i" + name + "__")
        if method is not None:
            return call_function(method, [left, right], None, caller)
        return binary_op(name, left, right, caller)
    if type(right) is Instance:
        return binary_op(name, left, right, caller)
    return python_inplace(name, left, right)


@stackless
def compare_op(name, left, right, caller):
    if type(left) is Instance or type(right) is Instance:
        return instance_binary_op(name, left, right, "__" + name + "__",
                                  "__" + REFLECTED_COMPARE[name] + "__", caller)
    return python_compare(name, left, right)


@stackless
def instance_binary_op(name, left, right, method_name, reflected_name, caller):
    """``left.__add__(right)``, and when that is missing or returns
    NotImplemented, ``right.__radd__(left)``; for comparisons the reflected
    method is the mirrored comparison."""
    if type(left) is Instance:
        method = left.cls.lookup(method_name)
        if method is not None:
            entry = ReflectedOperator(caller, name, left, right)
            result = call_function(method, [left, right], None, entry)
            return finish_operator(entry, result)
    return reflected_op(name, left, right, reflected_name, caller)


@stackless
def finish_operator(entry, result):
    entry.tasklet.top = entry.back
    if result is not NotImplemented:
        return result
    name = entry.name
    reflected = "__" + REFLECTED_COMPARE[name] + "__" if name in REFLECTED_COMPARE else \
        "__r" + name + "__"
    return reflected_op(name, entry.left, entry.right, reflected, entry.back)


@stackless
def reflected_op(name, left, right, reflected_name, caller):
    if type(right) is Instance:
        method = right.cls.lookup(reflected_name)
        if method is not None:
            return call_function(method, [right, left], None, caller)
    return operator_fallback(name, left, right)


def operator_fallback(name, left, right):
    if name == "eq":
        return left is right
    if name == "ne":
        return left is not right
    if name in COMPARE_SYMBOLS:
        raise TypeError(f"'{COMPARE_SYMBOLS[name]}' not supported between instances of "
                        f"'{type_name(left)}' and '{type_name(right)}'")
    raise unsupported_operands(BINARY_SYMBOLS[name], left, right)


@stackless
def unary_op(name, value, caller):
    if type(value) is Instance:
        method = value.cls.lookup("__" + name + "__")
        if method is None:
            symbol = {"neg": "-", "pos": "+", "invert": "~"}[name]
            raise TypeError(f"bad operand type for unary {symbol}: '{value.cls.name}'")
        return call_function(method, [value], None, caller)
    return PYTHON_UNARY[name](value)


@stackless
def get_item(container, key, caller):
    if type(container) is Instance:
        method = container.cls.lookup("__getitem__")
        if method is None:
            raise TypeError(f"'{container.cls.name}' object is not subscriptable")
        return call_function(method, [container, key], None, caller)
    return container[key]


@stackless
def set_item(container, key, value, caller):
    if type(container) is Instance:
        method = container.cls.lookup("__setitem__")
        if method is None:
            raise TypeError(f"'{container.cls.name}' object does not support item assignment")
        return call_function(method, [container, key, value], None, caller)
    container[key] = value
    return None


# -- iteration over the app's map ----------------------------------------------------

def next_arguments(source):
    """The next arguments of ``source``'s function, or EXHAUSTED."""
    args = []
    for iterator in source.iterators:
        item = next(iterator, EXHAUSTED)
        if item is EXHAUSTED:
            return EXHAUSTED
        push(args, item)
    return args


@stackless
def next_of_map(source, caller):
    args = next_arguments(source)
    if args is EXHAUSTED:
        return EXHAUSTED
    return call_value(source.func, args, None, caller)


@stackless
def collect_for(builtin, args, kwargs, caller):
    """``builtin(*args, **kwargs)`` where ``args[0]`` may be the app's map,
    whose calls are app calls made here."""
    if args and type(args[0]) is AppMap:
        if len(args) != 1:
            raise TypeError(f"{builtin}() over map takes one positional argument here")
        return collect_into(Collecting(caller, args[0], builtin, kwargs))
    return apply_collector(builtin, args, kwargs)


@stackless
def collect_into(entry):
    source = entry.source
    while True:
        args = next_arguments(source)
        if args is EXHAUSTED:
            entry.tasklet.top = entry.back
            return apply_collector(entry.builtin, [entry.items], entry.kwargs)
        push(entry.items, call_value(source.func, args, None, entry))


def apply_collector(builtin, args, kwargs):
    kwargs = dict(kwargs) if kwargs else {}
    key = kwargs.get("key")
    if key is not None and not callable(key):
        kwargs["key"] = lambda item: call_nested(key, [item])
    return COLLECTORS[builtin](*args, **kwargs)


COLLECTORS = {"list": list, "tuple": tuple, "sorted": sorted, "sum": sum, "min": min,
              "max": max}
