"""Analyses over the IR: liveness, records per resume point, the call graph."""

from dataclasses import dataclass

from stacklessxf.analysis.liveness import Liveness
from stacklessxf.analysis.records import ResumePoint, resume_points
from stacklessxf.ir.model import CallSite

__all__ = ["CallSite", "FunctionAnalysis", "ResumePoint", "analyze"]


@dataclass
class FunctionAnalysis:
    qualname: str
    filename: str
    lineno: int
    resume_points: list  # ResumePoint, ordered by id
    variables: tuple  # every user variable of the function
    calls: list  # CallSite of every call in the function's own frame

    def count(self, kind):
        return sum(1 for point in self.resume_points if point.kind == kind)

    @property
    def records(self):
        """Resume points that need a record: all but the tail calls."""
        return len(self.resume_points) - self.count("tail")

    @property
    def slots(self):
        return sum(point.k for point in self.resume_points if point.kind == "stateful")

    @property
    def naive_records(self):
        return len(self.resume_points)

    @property
    def naive_slots(self):
        return sum(point.naive_slots for point in self.resume_points)

    def format(self):
        """One line per resume point: where, what is called, kind and live slots."""
        if not self.resume_points:
            return "no resume points\n"
        return "".join(format_resume_point(point) + "\n" for point in self.resume_points)


def format_resume_point(point):
    lineno, col = point.span[:2]
    live = ", ".join(point.live) or "-"
    return (f"rp{point.id}  {lineno}:{col}  {point.callee}  ({point.reason})  "
            f"{point.label}  live: {live}  naive: {point.naive_slots}")


def analyze(function):
    """The FunctionAnalysis of a lowered, verified IR Function."""
    return FunctionAnalysis(
        qualname=function.qualname,
        filename=function.filename,
        lineno=function.lineno,
        resume_points=resume_points(function, Liveness(function)),
        variables=tuple(function.variables),
        calls=list(function.calls),
    )
