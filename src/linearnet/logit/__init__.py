"""Classification solved exactly: the multinomial logit (two classes: logistic regression) to its optimum.

Where :mod:`linearnet.training` trains softmax regression by SGD for some epochs, this package finds the
maximum of the log-likelihood itself, by Newton's method with the exact Hessian (:mod:`.newton`), one
pass over the rows per iteration (:mod:`.sums`), in memory, over chunks of a file larger than memory, or
across processes (one exchange per pass); and reports what R's ``summary(multinom)``, ``glm`` and
statsmodels' ``MNLogit`` report (:mod:`.result`). It says when no finite optimum exists (separated
classes) instead of reporting standard errors of estimates that grow without bound, and names the
columns of an aliased design (:mod:`.solver`).
"""

from .result import LogitResult
from .solver import solve_logit, solve_logit_chunks

__all__ = ["solve_logit", "solve_logit_chunks", "LogitResult"]
