//! Open311 GeoReport v2: report categories as services, reports as service requests.
