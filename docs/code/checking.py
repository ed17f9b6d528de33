"""Checking data before training: copies, a test set that leaks, labels that look wrong."""
from sklearn.datasets import load_digits

import deepfit

digits = load_digits()
X, y = digits.data[:600].copy(), digits.target[:600].copy()
X[10] = X[11]               # a copy
y[20:26] = (y[20:26] + 1) % 10   # six wrong labels
report = deepfit.check_data(X, y, test=(X[100:105], y[100:105]))   # the test rows are training rows
for finding in report.findings:
    print(f"{finding.check}: {len(finding.items)}")
