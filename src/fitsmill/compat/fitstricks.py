"""DaCHS's ``gavo.helpers.fitstricks``: the names scripts use, resolved lazily to fitsmill."""

from fitsmill._lazy import install_lazy_names

_NAMES = {
    "makeHeaderFromTemplate": "fitsmill.templates:makeHeaderFromTemplate",
    "registerTemplate": "fitsmill.templates:registerTemplate",
    "getTemplateForName": "fitsmill.templates:getTemplateForName",
    "updateTemplatedHeader": "fitsmill.templates:updateTemplatedHeader",
    "WFPDB_TEMPLATE": "fitsmill.templates:WFPDB_TEMPLATE",
    "MINIMAL_IMAGE_TEMPLATE": "fitsmill.templates:MINIMAL_IMAGE_TEMPLATE",
    "getNameForTemplate": "fitsmill.templates:getNameForTemplate",
    "getTemplateNameFromHistory": "fitsmill.templates:getTemplateNameFromHistory",
    "WCS_TEMPLATE": "fitsmill.templates:WCS_TEMPLATE",
    "PLATE_TEMPLATE": "fitsmill.templates:PLATE_TEMPLATE",
    "PLATE_TEMPLATE_2014": "fitsmill.templates:PLATE_TEMPLATE_2014",
}

install_lazy_names(globals(), _NAMES)
