// SPDX-License-Identifier: GPL-2.0
/*
 * nb_pte: a test module that reports the cache attribute bits of page
 * table entries, independently of numabuf (x86 only).
 *
 * Debian's kernels have no PTDUMP_DEBUGFS, and PAT's
 * x86/pat_memtype_list lists no RAM (memtype_reserve() keeps the type of
 * RAM pages in their flags, not in its tree), so the suite's cache-mode
 * tests ask this module instead.  /sys/kernel/debug/nb_pte takes one
 * request per write and answers it on the next read (at offset 0):
 *
 *   k PHYS	the kernel's linear mapping of physical address PHYS
 *		(lookup_address())
 *   u ADDR	user address ADDR in the calling process's page tables,
 *		walked under mmap_read_lock()
 *   x		the bits pgprot_writecombine() and pgprot_noncached() set
 *
 * Answers: "present 1 level 4K|2M|1G bits 0xNN" with the PWT, PCD and PAT
 * bits of the entry in their 4 KiB positions (a large entry's PAT bit,
 * bit 12, moved to bit 7), or "present 0"; "wb 0x0 wc 0xNN uc 0xNN" for x.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/kernel.h>
#include <linux/mm.h>
#include <linux/mmap_lock.h>
#include <linux/module.h>
#include <linux/pgtable.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include <asm/pgtable_types.h>

#define NB_PTE_ANSWER	96

static struct dentry *nb_pte_file;

static unsigned long nb_pte_bits(pgprotval_t val, bool large)
{
	if (large)
		val = protval_large_2_4k(val);
	return val & (_PAGE_PWT | _PAGE_PCD | _PAGE_PAT);
}

static void nb_pte_put(char *out, bool present, const char *level,
		       unsigned long bits)
{
	if (present)
		scnprintf(out, NB_PTE_ANSWER, "present 1 level %s bits %#lx\n",
			  level, bits);
	else
		scnprintf(out, NB_PTE_ANSWER, "present 0\n");
}

static void nb_pte_kernel(u64 phys, char *out)
{
	unsigned int level;
	pte_t *pte;

	if (!pfn_valid(PHYS_PFN(phys))) {
		nb_pte_put(out, false, NULL, 0);
		return;
	}
	pte = lookup_address((unsigned long)__va(phys), &level);
	if (!pte || !pte_present(*pte)) {
		nb_pte_put(out, false, NULL, 0);
		return;
	}
	nb_pte_put(out, true, level == PG_LEVEL_1G ? "1G" :
		   level == PG_LEVEL_2M ? "2M" : "4K",
		   nb_pte_bits(pte_val(*pte), level != PG_LEVEL_4K));
}

/* Walk current->mm for @addr; mmap_read_lock() held. */
static void nb_pte_user_walk(struct mm_struct *mm, unsigned long addr,
			     char *out)
{
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud, pudv;
	pmd_t *pmd, pmdv;
	pte_t *pte, ptev;

	pgd = pgd_offset(mm, addr);
	if (pgd_none(*pgd) || pgd_bad(*pgd))
		goto none;
	p4d = p4d_offset(pgd, addr);
	if (p4d_none(*p4d) || p4d_bad(*p4d))
		goto none;
	pud = pud_offset(p4d, addr);
	pudv = READ_ONCE(*pud);
	if (pud_none(pudv))
		goto none;
	if (pud_leaf(pudv)) {
		nb_pte_put(out, pud_present(pudv), "1G",
			   nb_pte_bits(pud_val(pudv), true));
		return;
	}
	if (pud_bad(pudv))
		goto none;
	pmd = pmd_offset(pud, addr);
	pmdv = READ_ONCE(*pmd);
	if (pmd_none(pmdv))
		goto none;
	if (pmd_leaf(pmdv)) {
		nb_pte_put(out, pmd_present(pmdv), "2M",
			   nb_pte_bits(pmd_val(pmdv), true));
		return;
	}
	if (pmd_bad(pmdv))
		goto none;
	/*
	 * x86-64 keeps page tables in the linear mapping; the mmap lock
	 * keeps this one from going (the test maps nothing meanwhile).
	 */
	pte = pte_offset_kernel(pmd, addr);
	ptev = READ_ONCE(*pte);
	if (!pte_present(ptev))
		goto none;
	nb_pte_put(out, true, "4K", nb_pte_bits(pte_val(ptev), false));
	return;
none:
	nb_pte_put(out, false, NULL, 0);
}

static void nb_pte_user(unsigned long addr, char *out)
{
	struct mm_struct *mm = current->mm;

	if (!mm) {
		nb_pte_put(out, false, NULL, 0);
		return;
	}
	mmap_read_lock(mm);
	nb_pte_user_walk(mm, addr, out);
	mmap_read_unlock(mm);
}

static int nb_pte_open(struct inode *inode, struct file *file)
{
	file->private_data = kzalloc(NB_PTE_ANSWER, GFP_KERNEL);
	return file->private_data ? 0 : -ENOMEM;
}

static int nb_pte_release(struct inode *inode, struct file *file)
{
	kfree(file->private_data);
	return 0;
}

static ssize_t nb_pte_write(struct file *file, const char __user *ubuf,
			    size_t len, loff_t *ppos)
{
	char req[40], *out = file->private_data;
	unsigned long long v;

	if (!len || len >= sizeof(req))
		return -EINVAL;
	if (copy_from_user(req, ubuf, len))
		return -EFAULT;
	req[len] = '\0';
	strim(req);
	if (!strcmp(req, "x")) {
		scnprintf(out, NB_PTE_ANSWER, "wb 0x0 wc %#lx uc %#lx\n",
			  nb_pte_bits(pgprot_val(pgprot_writecombine(__pgprot(0))),
				      false),
			  nb_pte_bits(pgprot_val(pgprot_noncached(__pgprot(0))),
				      false));
		return len;
	}
	if ((req[0] != 'k' && req[0] != 'u') || req[1] != ' ' ||
	    kstrtoull(req + 2, 0, &v))
		return -EINVAL;
	if (req[0] == 'k')
		nb_pte_kernel(v, out);
	else
		nb_pte_user(v, out);
	return len;
}

static ssize_t nb_pte_read(struct file *file, char __user *ubuf, size_t len,
			   loff_t *ppos)
{
	const char *out = file->private_data;

	return simple_read_from_buffer(ubuf, len, ppos, out, strlen(out));
}

static const struct file_operations nb_pte_fops = {
	.owner = THIS_MODULE,
	.open = nb_pte_open,
	.release = nb_pte_release,
	.write = nb_pte_write,
	.read = nb_pte_read,
	.llseek = default_llseek,
};

static int __init nb_pte_init(void)
{
	nb_pte_file = debugfs_create_file("nb_pte", 0600, NULL, NULL,
					  &nb_pte_fops);
	return IS_ERR(nb_pte_file) ? PTR_ERR(nb_pte_file) : 0;
}

static void __exit nb_pte_exit(void)
{
	debugfs_remove(nb_pte_file);
}

module_init(nb_pte_init);
module_exit(nb_pte_exit);
MODULE_DESCRIPTION("numabuf test: cache attribute bits of page table entries");
MODULE_LICENSE("GPL");
