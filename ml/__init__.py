"""Quorum's science: features, training, ranking, mislabel detection and consensus over numpy arrays.

Nothing in this package imports Django or the apps, so it can be tested and benchmarked on its own.
"""
import os

# Multi-threaded BLAS on small matrices oversubscribes small machines badly (a 0.4 s logistic regression
# took 16 s on 2 cores). Parallelism comes from Celery workers instead; QUORUM_BLAS_THREADS overrides.
_threads = os.environ.get("QUORUM_BLAS_THREADS", "1")
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, _threads)

from threadpoolctl import threadpool_limits  # noqa: E402  (after the environment is set)

threadpool_limits(limits=int(_threads), user_api="blas")
