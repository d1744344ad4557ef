"""Runtime: records, unwinding and the trampoline that resumes them."""
