//! The hidapi backend: real tokens, and the simulator's uhid devices,
//! which the kernel shows exactly like hardware. Built on hidapi's
//! `linux-native-basic-udev` backend, which reads sysfs and hidraw nodes
//! directly: no libudev, no system library to install.

use std::collections::HashSet;
use std::time::Duration;

use hidapi::HidApi;

use super::backend::{HidBackend, HidConnection, HidEntry, HidError};

/// Tokens with one vendor and product ID, as hidapi sees them.
pub struct HidapiBackend {
    api: HidApi,
    vendor_id: u16,
    product_id: u16,
}

impl std::fmt::Debug for HidapiBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HidapiBackend")
            .field("vendor_id", &self.vendor_id)
            .field("product_id", &self.product_id)
            .finish_non_exhaustive()
    }
}

fn backend_error(e: hidapi::HidError) -> HidError {
    HidError::Backend {
        backend: "hidapi",
        reason: e.to_string(),
    }
}

impl HidapiBackend {
    /// Looks only for devices with these IDs.
    pub fn new(vendor_id: u16, product_id: u16) -> Result<HidapiBackend, HidError> {
        let api = HidApi::new().map_err(backend_error)?;
        Ok(HidapiBackend {
            api,
            vendor_id,
            product_id,
        })
    }

    fn searched(&self) -> String {
        format!(
            "hidapi, vendor {:04x} product {:04x}",
            self.vendor_id, self.product_id
        )
    }
}

impl HidBackend for HidapiBackend {
    fn name(&self) -> &'static str {
        "hidapi"
    }

    /// One entry per device node: hidapi lists a device once per top-level
    /// collection, and the token has two (keyboard and vendor). Devices
    /// without a serial number cannot be opened by serial and are left out.
    fn enumerate(&mut self) -> Result<Vec<HidEntry>, HidError> {
        self.api.reset_devices().map_err(backend_error)?;
        self.api
            .add_devices(self.vendor_id, self.product_id)
            .map_err(backend_error)?;
        let mut seen = HashSet::new();
        Ok(self
            .api
            .device_list()
            .filter(|d| seen.insert(d.path().to_owned()))
            .filter_map(|d| {
                Some(HidEntry {
                    serial: d.serial_number().filter(|s| !s.is_empty())?.to_owned(),
                    vendor_id: d.vendor_id(),
                    product_id: d.product_id(),
                    path: d.path().to_string_lossy().into_owned(),
                })
            })
            .collect())
    }

    fn open(&mut self, serial: &str) -> Result<Box<dyn HidConnection>, HidError> {
        if !self.enumerate()?.iter().any(|e| e.serial == serial) {
            return Err(HidError::NotFound {
                serial: serial.to_owned(),
                searched: self.searched(),
            });
        }
        let device = self
            .api
            .open_serial(self.vendor_id, self.product_id, serial)
            .map_err(backend_error)?;
        Ok(Box::new(HidapiConnection { device }))
    }
}

struct HidapiConnection {
    device: hidapi::HidDevice,
}

impl HidConnection for HidapiConnection {
    fn write(&mut self, report: &[u8]) -> Result<(), HidError> {
        self.device.write(report).map_err(backend_error)?;
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> Result<usize, HidError> {
        let ms = i32::try_from(timeout.as_millis()).unwrap_or(i32::MAX);
        self.device.read_timeout(buf, ms).map_err(backend_error)
    }

    fn get_feature(&mut self, buf: &mut [u8]) -> Result<usize, HidError> {
        self.device.get_feature_report(buf).map_err(backend_error)
    }
}
