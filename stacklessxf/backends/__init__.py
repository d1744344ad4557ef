"""Code generators: each turns an analysed function into runnable code."""
