"""Payment processors behind one protocol: the fake (embedded default, test double) and Stripe."""
