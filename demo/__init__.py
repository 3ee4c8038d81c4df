"""Carnet's demos: the classic MLflow tutorial sweep, a step-wise training, and a prediction.

``python -m demo`` logs both demo experiments into the store (idempotently); each module
also runs on its own: ``python -m demo.diabetes_sweep``, ``python -m demo.stepwise``,
``python -m demo.the_day_has_come``.
"""
