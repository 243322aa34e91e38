"""Analyses that evaluations of these programmes report: paired comparisons between
occasions (``paired``) and crime harm between groups (``harm``)."""
