"""Interoperability: instruments and assessments as FHIR resources."""
