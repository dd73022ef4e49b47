// The package page's file uploader: Uppy's Dashboard over the tus server.
// Configuration comes from the data- attributes of #uppy-dashboard (no inline script).
(function () {
  "use strict";
  const root = document.getElementById("uppy-dashboard");
  if (!root || !window.Uppy) {
    return;
  }
  const packageId = root.dataset.package;
  const uppy = new window.Uppy.Uppy({
    id: "package-" + packageId, // one restorable state per package
    autoProceed: false,
    meta: { package: packageId },
  });
  uppy.use(window.Uppy.Dashboard, {
    target: root,
    inline: true,
    width: "100%",
    height: 380,
    fileManagerSelectionType: "both", // files or a folder, whose structure is kept
    showProgressDetails: true,
    proudlyDisplayPoweredByUppy: false,
    note: "Template files (.txt, .xlsx), data files, a folder, or one ZIP archive",
  });
  uppy.use(window.Uppy.Tus, {
    endpoint: root.dataset.endpoint,
    headers: { "X-CSRFToken": root.dataset.csrfToken },
    chunkSize: Number(root.dataset.chunkSize) || 16 * 1024 * 1024,
    retryDelays: [0, 1000, 3000, 5000, 10000, 20000, 30000, 60000],
    storeFingerprintForResuming: true,
    removeFingerprintOnSuccess: true,
    allowedMetaFields: ["package", "relativePath", "name", "type"],
  });
  // Files chosen before the tab closed come back, and their uploads resume.
  uppy.use(window.Uppy.GoldenRetriever, { serviceWorker: false });
  uppy.on("complete", function (result) {
    if (result.successful.length > 0 && result.failed.length === 0) {
      window.location.reload(); // the files list and the submit button follow the server
    }
  });
})();
