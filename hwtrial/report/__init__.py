"""The trial report and its CONSORT flow (PURE: plain records in, frozen results and SVG out).

``consort`` counts the CONSORT 2010 flow from participant records, ``diagram`` draws it as SVG,
``tables`` turns the results document into the rows both the HTML report and the staff
results page show, and ``figures`` draws the report's plots. The database side is
:mod:`hwtrial.services.report`.
"""
