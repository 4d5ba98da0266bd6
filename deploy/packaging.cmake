# Debian packages gom-hub and gom-agent, built by CPack:
#   cmake --build build --target package
# Binaries to /usr/bin, systemd units to /lib/systemd/system, sample
# configs, forms and report samples to /usr/share/gom, the operator's doc
# to /usr/share/doc/PACKAGE. Maintainer scripts: deploy/debian/PACKAGE/.
# Dependencies from dpkg-shlibdeps (package dpkg-dev), plus adduser.

install(TARGETS gom-hub RUNTIME DESTINATION bin COMPONENT hub)
install(TARGETS gom-agent gom-agent-xlsx gom-agent-quiet RUNTIME DESTINATION bin
        COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/gom-hub.service
        DESTINATION /lib/systemd/system COMPONENT hub)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/systemd/gom-agent.service
        DESTINATION /lib/systemd/system COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/hub.cfg.sample
              ${PROJECT_SOURCE_DIR}/deploy/units-ha-tinh-sample.csv
        DESTINATION share/gom COMPONENT hub)
file(GLOB GOM_PACKAGED_FORMS ${PROJECT_SOURCE_DIR}/deploy/forms/*.json)
install(FILES ${GOM_PACKAGED_FORMS} DESTINATION share/gom/forms
        COMPONENT hub)
install(FILES ${PROJECT_SOURCE_DIR}/deploy/agent.cfg.sample
        DESTINATION share/gom COMPONENT agent)
file(GLOB GOM_PACKAGED_SAMPLES ${PROJECT_SOURCE_DIR}/deploy/samples/*.json)
install(FILES ${GOM_PACKAGED_SAMPLES} DESTINATION share/gom/samples
        COMPONENT agent)
install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/cli.md
        DESTINATION share/doc/gom-hub COMPONENT hub)
install(FILES ${PROJECT_SOURCE_DIR}/docs/operations.md
              ${PROJECT_SOURCE_DIR}/docs/cli.md
        DESTINATION share/doc/gom-agent COMPONENT agent)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME gom)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "gom maintainers <gom@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_COMPONENTS_ALL hub agent)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION TRUE)
set(CPACK_DEBIAN_HUB_PACKAGE_NAME gom-hub)
set(CPACK_DEBIAN_AGENT_PACKAGE_NAME gom-agent)
set(CPACK_COMPONENT_HUB_DESCRIPTION
    "gom provincial hub: stores and consolidates reports\n\
Receives gender-equality reports from the offices' gom agents over\n\
CURVE-secured ZeroMQ, stores them durably in sqlite, acknowledges them,\n\
consolidates them up the unit tree and serves the operators' dashboard.")
set(CPACK_COMPONENT_AGENT_DESCRIPTION
    "gom office agent: queues reports and forwards them to the hub\n\
Checks an office's report files offline against the hub's forms, keeps\n\
them in a durable local outbox and sends them to the provincial gom hub\n\
whenever the line is up, until the hub acknowledges them.")
foreach(pkg hub agent)
  string(TOUPPER ${pkg} PKG)
  set(CPACK_DEBIAN_${PKG}_PACKAGE_CONTROL_EXTRA
      ${PROJECT_SOURCE_DIR}/deploy/debian/gom-${pkg}/postinst
      ${PROJECT_SOURCE_DIR}/deploy/debian/gom-${pkg}/prerm
      ${PROJECT_SOURCE_DIR}/deploy/debian/gom-${pkg}/postrm)
endforeach()
include(CPack)
