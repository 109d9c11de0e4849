"""The service: what the command line, the API and the console share for a signed-in user.

Entities search and profile (:mod:`.entities`), plans and results intake (:mod:`.plans`,
:mod:`.results`), alerts (:mod:`.alerts`), statistics and exports, the audit log, and the state and
principal every request carries (:mod:`.state`, :mod:`.principal`).  It returns plain data (dicts,
dataclasses, the registry's model objects) and raises riskgrade errors (:class:`.errors.Refused`
carries an HTTP-like status, a stable code and the console's message key); it imports no web
framework, template engine or command-line library.
"""
