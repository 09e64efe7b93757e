"""Builders of Stripe-shaped objects (API version 2020-08-27, the shape of remit's event fixtures).

Each builder returns a plain dict with every top-level key Stripe's object has, most of them at their
neutral value, so consumers written against real events find what they expect. Builders are pure: no ids are
made here and nothing is stored.
"""
