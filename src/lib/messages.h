/* SPDX-License-Identifier: MIT */
#pragma once

/* Fixed journal MESSAGE_IDs, so that "journalctl MESSAGE_ID=..." finds one
 * kind of event across every program. Documented in the journal catalog
 * (catalog/ashd.catalog). One line each, so that they can be grepped. */

/* clang-format off */
#define MESSAGE_ID_ACCESS              "31faa4eb3b7b425297f6081c801eee05" /* one HTTP request served */
#define MESSAGE_ID_HANDLER_UNAVAILABLE "bed84cede73a4e1d9a644778c1a00684" /* a handler socket refused or down */
#define MESSAGE_ID_PEER_REFUSED        "58086220aa6444e78f42211eefeb952b" /* a peer's credentials were refused */
#define MESSAGE_ID_CONFIG_ERROR        "ba974794288f445bbe1f0f69a8e0562b" /* a configuration file was refused */
/* clang-format on */
