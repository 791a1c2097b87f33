"""The data server's web service: browse and inspect each project's products, with access
per project (``lmtflow web serve``). See README.md, "Web service", and DESIGN.md section 8."""
