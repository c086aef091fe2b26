"""The JUnit XML report: one testsuite per audit, one testcase per check (classname = target, name =
family/check); failing checks carry their findings as <failure>, skipped checks as <skipped>, internal
errors as <error>. CI systems (GitHub, GitLab, Jenkins) show these natively. losscheck.report.render() passes
the document through escape.printable, which leaves only XML 1.0 characters: it stays well-formed whatever
control characters a candidate's messages hold."""
from xml.etree import ElementTree as ET


def _failure_text(check) -> str:
    return "\n\n".join(f"{f.code} {f.severity} {f.title}\n{f.message}\n\nExample:\n{f.example}\n\nReproducer:\n"
                       f"{f.reproducer}" for f in check.findings)


def render(result) -> str:
    failing = {f.check for f in result.failing("error")}
    suite = ET.Element("testsuite", name=f"losscheck {result.target}", tests=str(len(result.checks)),
                       failures=str(sum(c.name in failing for c in result.checks)),
                       errors=str(sum(c.status == "error" for c in result.checks)),
                       skipped=str(sum(c.status == "skip" for c in result.checks)), time=f"{result.seconds:.3f}")
    props = ET.SubElement(suite, "properties")
    for key, value in (("reference", result.reference), ("seed", result.seed), ("loss", result.parameters["loss"])):
        ET.SubElement(props, "property", name=key, value=str(value))
    for c in result.checks:
        case = ET.SubElement(suite, "testcase", classname=result.target, name=f"{c.family}/{c.name}",
                             time=f"{c.seconds:.3f}")
        if c.status == "skip":
            ET.SubElement(case, "skipped", message=c.detail[:200])
        elif c.status == "error":
            ET.SubElement(case, "error", message=c.detail[:200]).text = c.detail
        elif c.name in failing:
            first = next(f for f in c.findings if f.check in failing)
            ET.SubElement(case, "failure", message=f"{first.code} {first.title}",
                          type=first.code).text = _failure_text(c)
        elif c.findings:  # warnings and info below --fail-on: visible, not failing
            ET.SubElement(case, "system-out").text = _failure_text(c)
    suites = ET.Element("testsuites")
    suites.append(suite)
    ET.indent(suites)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(suites, encoding="unicode") + "\n"
