"""GeoNames places offline: name folding, the one-off index build, and queries."""
