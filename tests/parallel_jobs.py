"""Jobs for tests/test_parallel.py, in a module of their own so that worker processes import nothing heavy."""


def square(x, log=print):
    log(f"job {x} starts")
    log(f"job {x} ends")
    if x < 0:
        raise ValueError(f"negative: {x}")
    return x * x


def threads(log=print):
    import torch

    return torch.get_num_threads()
