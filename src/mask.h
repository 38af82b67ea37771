/*
 * mask.h — key-free masking and generalization functions.
 *
 * SQL entry points: privacy.mask_email, mask_phone, mask_card, partial,
 * truncate_ip, generalize, age_range, noise, redact and k_anonymity.
 */
#ifndef PRIVACY_MASK_H
#define PRIVACY_MASK_H

extern void MaskInit(void);

#endif							/* PRIVACY_MASK_H */
