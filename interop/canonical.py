"""The one base of every canonical URL the portal defines (its Questionnaires, code systems,
extensions, identifier systems). Canonical URLs name things; they need not resolve. Change it
only with a new version of each Questionnaire: stored answers name the old URL."""

BASE = "https://alliance-portal.example/fhir/"
