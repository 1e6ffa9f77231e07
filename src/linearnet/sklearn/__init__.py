"""scikit-learn estimators over linearnet's exact solve and its one training loop.

    >>> from linearnet.sklearn import LinearRegression, LogisticRegression, SGDRegressor, SoftmaxRegression

- :class:`LinearRegression`: :func:`linearnet.leastsq.solve`, with statsmodels' statistics
  (``bse_``, ``pvalues_``, ``conf_int()``, ``summary()``: the table ``linearnet solve`` prints).
- :class:`LogisticRegression`: :func:`linearnet.logit.solve_logit`, the multinomial logit (two classes:
  logistic regression) to its optimum, with R's and statsmodels' statistics (``result_``, ``summary()``);
  separated classes warned of (:class:`SeparationWarning`), never reported as converged.
- :class:`SGDRegressor` and :class:`SoftmaxRegression`: minibatch SGD by the library's fits
  (:func:`linearnet.training.fit_arrays`, :func:`linearnet.training.fit_classifier`) with any engine
  (``impl``), stopped as scikit-learn's SGD stops: when the loss (the training loss, or the validation
  loss with ``early_stopping=True``) has not improved by more than ``tol``·|best| (softmax:
  ``tol``·max(|best|, 1 nat)) for ``n_iter_no_change`` epochs. Features are standardized for training by
  default and the coefficients reported in the features' original units. Their defaults are the
  library's, those of ``linearnet train --data`` (:func:`linearnet.presets.data_config`): with
  ``random_state=0`` an SGDRegressor takes the steps of ``linearnet train --data ... --seed 0``.

They follow scikit-learn's conventions (parameters stored by ``__init__``, checked by ``fit``;
learned attributes end in ``_``; ``random_state`` fixes every draw), so they work in
``Pipeline``, ``GridSearchCV`` and ``cross_val_score``. ``save(path)`` writes linearnet's model
file, which ``linearnet predict`` reads; ``load(path)`` reads one written by ``linearnet solve``
or ``train --out`` (models with coded text columns or formulas excepted: they need the table).

The faces hold no algorithm: they check input, move numbers in and out of the library's fits
(``exact``: LinearRegression; ``logistic``: LogisticRegression; ``sgd``: SGDRegressor and what the two SGD
faces share; ``softmax``: SoftmaxRegression; ``common``: feature names and model files).
"""

from __future__ import annotations

from .exact import LinearRegression
from .logistic import LogisticRegression, SeparationWarning
from .sgd import SGDRegressor
from .softmax import SoftmaxRegression

__all__ = ["LinearRegression", "LogisticRegression", "SGDRegressor", "SeparationWarning", "SoftmaxRegression"]
